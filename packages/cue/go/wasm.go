//go:build wasip1

package main

import "unsafe"

// Buffers handed to the host stay referenced here until it frees them, so the GC keeps them.
var pinned = map[uint32][]byte{}

func addr(b []byte) uint32 {
	if len(b) == 0 {
		b = make([]byte, 1)
	}
	return uint32(uintptr(unsafe.Pointer(&b[0])))
}

//go:wasmexport vs_alloc
func vsAlloc(n uint32) uint32 {
	b := make([]byte, n+1)
	p := addr(b)
	pinned[p] = b
	return p
}

//go:wasmexport vs_free
func vsFree(p uint32) {
	delete(pinned, p)
}

//go:wasmexport vs_call
func vsCall(p uint32, n uint32) uint64 {
	out := answer(pinned[p][:n])
	rp := addr(out)
	pinned[rp] = out
	return uint64(rp)<<32 | uint64(len(out))
}

func main() {}
