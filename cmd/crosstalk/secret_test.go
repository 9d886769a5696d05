package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestKeptSecret(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	a, err := keptSecret(dir, "k")
	if err != nil || len(a) != 32 {
		t.Fatalf("first: %d bytes, %v", len(a), err)
	}
	st, err := os.Stat(filepath.Join(dir, "k"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("mode: %v %v", st.Mode(), err)
	}
	b, err := keptSecret(dir, "k")
	if err != nil || !bytes.Equal(a, b) {
		t.Fatalf("second read differs: %v", err)
	}
	if entries, err := os.ReadDir(dir); err != nil || len(entries) != 1 {
		t.Fatalf("data directory after one secret: %v %v", entries, err) // no temporary file left
	}
	if other, _ := keptSecret(dir, "other"); bytes.Equal(a, other) {
		t.Fatal("two secrets are equal")
	}
	if err := os.WriteFile(filepath.Join(dir, "bad"), []byte("short"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := keptSecret(dir, "bad"); err == nil {
		t.Fatal("a 5-byte secret was accepted")
	}
}
