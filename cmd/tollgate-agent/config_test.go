package main

import "testing"

func TestExampleConfigLoads(t *testing.T) {
	c, err := loadConfig("../../deploy/agent.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.finish(); err != nil {
		t.Fatal(err)
	}
	if c.POP != "north-tower-1" || c.Controller.TLS.CAFile == "" || c.Metrics.Listen != ":9100" {
		t.Fatalf("example config decoded to %+v", c)
	}
}
