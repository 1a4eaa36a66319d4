package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := newRootCmd().ExecuteContext(ctx); err != nil {
		// The whole error: a problem the API answered with what the
		// command says about it (what to do next).
		fmt.Fprintln(os.Stderr, "error:", escapeControl(err.Error()))
		os.Exit(1)
	}
}
