// Command readfiles prints the files it is given, each after a "==> name <==" line, for the
// real node's pods whose image has no shell: /proc/self/uid_map from inside a user namespace,
// the files of an image volume. It exits 1 if a file cannot be read.
//
// Its image carries kodata/ at /var/run/ko/, which the image-volume pod reads from the
// volume.
package main

import (
	"fmt"
	"os"
)

func main() {
	status := 0
	for _, name := range os.Args[1:] {
		data, err := os.ReadFile(name)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			status = 1
			continue
		}
		fmt.Printf("==> %s <==\n%s", name, data)
	}
	os.Exit(status)
}
