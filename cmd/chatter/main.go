package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
)

// command is one subcommand of chatter: run gets the arguments after the
// subcommand's name and returns the process's exit code (0 success, 1
// failure, 2 usage error).
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

// commands returns chatter's subcommands, in the order usage lists them.
// Add a subcommand here.
func commands() []command {
	return []command{
		{"sim", "compare broadcast strategies in a deterministic simulation", func(ctx context.Context, args []string, stdout, stderr io.Writer) int {
			return runSim(ctx, args, stdout, stderr, simEnv{progress: isTerminal(stderr), progressAfter: defaultProgressAfter})
		}},
		{"demo", "run real nodes on loopback: who receives what, by which transport", runDemo},
		{"node", "run one real node: stdin lines are broadcast, arrivals printed", func(ctx context.Context, args []string, stdout, stderr io.Writer) int {
			return runNode(ctx, args, stdout, stderr, nodeEnv{stdin: os.Stdin, getenv: os.Getenv, readFile: os.ReadFile})
		}},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run dispatches args to a subcommand and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmds := commands()
	if len(args) == 0 {
		usage(stderr, cmds)
		return 2
	}
	name, rest := args[0], args[1:]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(rest) == 0 {
			usage(stdout, cmds)
			return 0
		}
		// chatter help CMD is chatter CMD -h.
		name, rest = rest[0], []string{"-h"}
	}
	for _, c := range cmds {
		if c.name == name {
			return c.run(ctx, rest, stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "chatter: unknown command %q (commands: %s)\n", name, commandNames(cmds))
	return 2
}

func commandNames(cmds []command) string {
	names := make([]string, 0, len(cmds)+1)
	for _, c := range cmds {
		names = append(names, c.name)
	}
	return strings.Join(append(names, "help"), ", ")
}

func usage(w io.Writer, cmds []command) {
	fmt.Fprintf(w, "usage: chatter <command> [flags]   (commands: %s)\n\n", commandNames(cmds))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, c := range cmds {
		fmt.Fprintf(tw, "  %s\t%s\n", c.name, c.summary)
	}
	fmt.Fprintf(tw, "  help\t%s\n", "print this, or with a command's name its flags")
	tw.Flush()
	fmt.Fprintln(w, "\nRun 'chatter <command> -h' for a command's flags.")
}

// isTerminal reports whether w is a character device, such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
