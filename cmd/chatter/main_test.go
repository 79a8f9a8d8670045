package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
)

func TestRunDispatch(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		code       int
		stdout     string // a substring of stdout, or "" for empty
		stderr     string // a substring of stderr, or "" for empty
		stderrLine bool   // stderr is one line
	}{
		{name: "no args", args: nil, code: 2, stderr: "usage: chatter <command>"},
		{name: "help", args: []string{"help"}, code: 0, stdout: "  sim  "},
		{name: "-h", args: []string{"-h"}, code: 0, stdout: "usage: chatter <command>"},
		{name: "help sim", args: []string{"help", "sim"}, code: 0, stdout: "-bandwidth"},
		{name: "sim -h", args: []string{"sim", "-h"}, code: 0, stdout: "-strategy"},
		{name: "unknown", args: []string{"nope"}, code: 2, stderr: `unknown command "nope" (commands: sim, demo, node, help)`, stderrLine: true},
		{name: "help unknown", args: []string{"help", "nope"}, code: 2, stderr: `unknown command "nope"`, stderrLine: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tt.args, &stdout, &stderr)
			if code != tt.code {
				t.Errorf("exit %d, want %d", code, tt.code)
			}
			check := func(what, got, want string) {
				t.Helper()
				if want == "" && got != "" {
					t.Errorf("%s = %q, want empty", what, got)
				}
				if !strings.Contains(got, want) {
					t.Errorf("%s = %q, want it to contain %q", what, got, want)
				}
			}
			check("stdout", stdout.String(), tt.stdout)
			check("stderr", stderr.String(), tt.stderr)
			if tt.stderrLine && strings.Count(stderr.String(), "\n") != 1 {
				t.Errorf("stderr = %q, want one line", stderr.String())
			}
		})
	}
}

func TestIsTerminal(t *testing.T) {
	if isTerminal(&bytes.Buffer{}) {
		t.Error("a buffer is a terminal")
	}
	f, err := os.CreateTemp(t.TempDir(), "f")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if isTerminal(f) {
		t.Error("a regular file is a terminal")
	}
}
