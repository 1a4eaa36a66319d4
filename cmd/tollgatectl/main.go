package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"

	"github.com/tollgate-isp/tollgate/controller/api/client"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	cmd := newRootCmd()
	if err := cmd.ExecuteContext(ctx); err != nil {
		var p *client.Problem
		if errors.As(err, &p) {
			fmt.Fprintln(os.Stderr, "error:", escapeControl(p.Error()))
		} else {
			fmt.Fprintln(os.Stderr, "error:", escapeControl(err.Error()))
		}
		os.Exit(1)
	}
}
