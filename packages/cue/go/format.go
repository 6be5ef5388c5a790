//go:build wasip1

package main

import "fmt"

func sprintf(format string, args []interface{}) string {
	return fmt.Sprintf(format, args...)
}
