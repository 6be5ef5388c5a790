//go:build !wasip1

package main

import (
	"bufio"
	"encoding/binary"
	"io"
	"os"
)

// main serves requests on stdin, answers on stdout, each frame a 4-byte big-endian length and JSON.
func main() {
	in := bufio.NewReaderSize(os.Stdin, 1<<20)
	out := bufio.NewWriterSize(os.Stdout, 1<<20)
	var size [4]byte
	for {
		if _, err := io.ReadFull(in, size[:]); err != nil {
			return
		}
		req := make([]byte, binary.BigEndian.Uint32(size[:]))
		if _, err := io.ReadFull(in, req); err != nil {
			return
		}
		res := answer(req)
		binary.BigEndian.PutUint32(size[:], uint32(len(res)))
		out.Write(size[:])
		out.Write(res)
		if err := out.Flush(); err != nil {
			return
		}
	}
}
