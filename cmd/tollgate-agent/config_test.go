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
	if c.POP != "north-tower-1" || c.Controller.TLS.CAFile == "" || c.Metrics.Listen != ":9100" || c.Redirect.Listen != ":8080" || c.StateFile != defaultStateFile {
		t.Fatalf("example config decoded to %+v", c)
	}
}

func TestStateFileDefaultAndOverrides(t *testing.T) {
	c := fileConfig{POP: "p1"}
	c.Controller.Address, c.Controller.InsecurePlaintext = "127.0.0.1:1", true
	if err := c.finish(); err != nil {
		t.Fatal(err)
	}
	if c.StateFile != defaultStateFile {
		t.Fatalf("default state file %q, want %q", c.StateFile, defaultStateFile)
	}

	t.Setenv("TOLLGATE_AGENT_STATE_FILE", "/srv/agent/state.db")
	c, err := loadConfig("../../deploy/agent.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.StateFile != "/srv/agent/state.db" {
		t.Fatalf("TOLLGATE_AGENT_STATE_FILE gave %q", c.StateFile)
	}
}

func TestRedirectListenDefaultAndOverrides(t *testing.T) {
	c := fileConfig{POP: "p1"}
	c.Controller.Address, c.Controller.InsecurePlaintext = "127.0.0.1:1", true
	if err := c.finish(); err != nil {
		t.Fatal(err)
	}
	if c.Redirect.Listen != "off" {
		t.Fatalf("default redirect.listen %q, want off", c.Redirect.Listen)
	}
	t.Setenv("TOLLGATE_REDIRECT_LISTEN", "127.0.0.1:8081")
	c, err := loadConfig("../../deploy/agent.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Redirect.Listen != "127.0.0.1:8081" {
		t.Fatalf("TOLLGATE_REDIRECT_LISTEN gave %q", c.Redirect.Listen)
	}
}
