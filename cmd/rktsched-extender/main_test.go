package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestRunRefusesBadFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		says string
	}{
		{"help", []string{"-h"}, 0, "-max-body-bytes"},
		{"version", []string{"--version", "--max-body-bytes=0"}, 0, ""},
		{"unknown flag", []string{"--nope"}, 2, "flag provided but not defined"},
		{"invalid value", []string{"--standalone", "--max-body-bytes=0"}, 2, "--max-body-bytes must be positive"},
		{"stray argument", []string{"--standalone", "extra"}, 2, "unexpected arguments"},
		{"bad policy file", []string{"--standalone", "--policy-file=/does/not/exist", "--listen=127.0.0.1:0"}, 1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			if code := run(tt.args, &stderr); code != tt.code {
				t.Errorf("run(%q) = %d, want %d; stderr:\n%s", tt.args, code, tt.code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.says) {
				t.Errorf("stderr %q does not say %q", stderr.String(), tt.says)
			}
		})
	}
}
