package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/tollgate-isp/tollgate/internal/printmailsim"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:4010", "address to listen on")
	dir := flag.String("dir", "", "directory to write letters to (required)")
	keyFile := flag.String("api-key-file", "", "file holding the API key clients must use (default: any key)")
	webhookURL := flag.String("webhook-url", "", "where to post status events (default: none)")
	secretFile := flag.String("webhook-secret-file", "", "file holding the webhook signing secret (first line)")
	mailAfter := flag.Duration("mail-after", 2*time.Second, "send letter.mailed this long after each letter is created (0: never)")
	returns := flag.String("return-postal-codes", "", "comma-separated postal codes whose letters come back to the sender")
	undeliverable := flag.String("undeliverable-postal-codes", "", "comma-separated postal codes address verification calls undeliverable")
	flag.Parse()
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "printmailsim: -dir is required")
		os.Exit(2)
	}
	log.SetFlags(0)
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		log.Fatal(err)
	}
	read := func(path string) string {
		if path == "" {
			return ""
		}
		b, err := os.ReadFile(path)
		if err != nil {
			log.Fatal(err)
		}
		return strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0])
	}
	list := func(s string) []string {
		var out []string
		for _, v := range strings.Split(s, ",") {
			if v = strings.TrimSpace(v); v != "" {
				out = append(out, v)
			}
		}
		return out
	}
	sim := printmailsim.New(printmailsim.Options{APIKey: read(*keyFile), WebhookURL: *webhookURL, WebhookSecret: read(*secretFile),
		MailAfter: *mailAfter, ReturnPostalCodes: list(*returns), UndeliverablePostalCodes: list(*undeliverable), Dir: *dir,
		Logf: log.Printf})
	if err := sim.Listen(*listen); err != nil {
		log.Fatal(err)
	}
	log.Printf("printmailsim: listening on %s, writing letters to %s", *listen, *dir)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	_ = sim.Close()
}
