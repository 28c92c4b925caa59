package main

import (
	"bytes"
	"strings"
	"testing"
)

func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

func TestCompletionBash(t *testing.T) {
	out, err := run(t, "completion", "bash")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "__start_ferry") {
		t.Fatalf("bash completion script lacks __start_ferry:\n%.300s", out)
	}
}

// Every command's --help must work and describe itself.
func TestEveryHelp(t *testing.T) {
	root := newRootCmd()
	var walk func(path []string, c interface {
		Name() string
	})
	_ = walk
	for _, c := range root.Commands() {
		args := []string{c.Name(), "--help"}
		out, err := run(t, args...)
		if err != nil {
			t.Errorf("ferry %s --help: %v", c.Name(), err)
		}
		if !strings.Contains(out, "Usage:") {
			t.Errorf("ferry %s --help has no usage:\n%s", c.Name(), out)
		}
		for _, sub := range c.Commands() {
			out, err := run(t, c.Name(), sub.Name(), "--help")
			if err != nil || !strings.Contains(out, "Usage:") {
				t.Errorf("ferry %s %s --help: %v\n%s", c.Name(), sub.Name(), err, out)
			}
		}
	}
}
