package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestKrewVersion(t *testing.T) {
	for _, tt := range []struct {
		name, version, want string
		wantErr             bool
	}{
		{name: "tag", version: "v1.2.3", want: "v1.2.3"},
		{name: "commits after a tag", version: "v1.2.3-4-gabcdef0", want: "v1.2.3-4-gabcdef0"},
		{name: "tag, dirty tree", version: "v1.2.3-dirty", want: "v1.2.3-dirty"},
		{name: "untagged commit", version: "f8ebf67", want: "v0.0.0-dev-f8ebf67"},
		{name: "untagged, dirty tree", version: "f8ebf67-dirty", want: "v0.0.0-dev-f8ebf67-dirty"},
		{name: "no git", version: "dev", want: "v0.0.0-dev-dev"},
		{name: "no semantic version to make", version: "a/b", wantErr: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := krewVersion(tt.version)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("krewVersion(%q) = %q, %v; want %q, error %v", tt.version, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

// TestWriteArchiveReproducible: the same entries in any order, packed at different times,
// give the same bytes; another mtime gives others.
func TestWriteArchiveReproducible(t *testing.T) {
	dir := t.TempDir()
	mtime := time.Unix(1700000000, 0)
	pack := func(name string, mtime time.Time, entries ...entry) []byte {
		t.Helper()
		path := filepath.Join(dir, name)
		if _, err := writeArchive(path, mtime, entries); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	a := entry{name: "README.md", mode: 0o644, data: []byte("readme")}
	b := entry{name: "kubectl-rktsched", mode: 0o755, data: []byte("binary")}
	first := pack("1.tar.gz", mtime, a, b)
	time.Sleep(1100 * time.Millisecond) // a packer that took the clock's time would now differ
	if second := pack("2.tar.gz", mtime, b, a); !bytes.Equal(first, second) {
		t.Error("the same entries packed twice differ")
	}
	if other := pack("3.tar.gz", mtime.Add(time.Second), a, b); bytes.Equal(first, other) {
		t.Error("another mtime gives the same archive: the mtime is not in it")
	}
}
