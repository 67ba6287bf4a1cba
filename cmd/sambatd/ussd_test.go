package main

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadyz_USSDOnly: a deployment whose only inbound channel is the USSD
// gateway is ready, and /readyz reports the gateway.
func TestReadyz_USSDOnly(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	cfg := filepath.Join(dir, "sambatd.yaml")
	body := fmt.Sprintf("store:\n  path: %s\nhttp:\n  listen: %s\nsimulator:\n  enabled: false\nussd:\n  enabled: true\n  secret: gateway-secret\n",
		filepath.Join(dir, "sambat.db"), addr)
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	p := start(t, cfg, addr)
	defer p.kill()

	var ready struct {
		Ready bool `json:"ready"`
		Parts []struct {
			Name    string `json:"name"`
			OK      bool   `json:"ok"`
			Inbound bool   `json:"inbound"`
		} `json:"parts"`
	}
	if code := getJSON(t, p.base+"/readyz", &ready); code != http.StatusOK || !ready.Ready {
		t.Errorf("/readyz: got %d %+v, want 200 ready", code, ready)
	}
	var names []string
	found := false
	for _, part := range ready.Parts {
		names = append(names, part.Name)
		if part.Name == "ussd" {
			found = part.OK && part.Inbound
		}
	}
	if !found {
		t.Errorf("/readyz parts %v: want an ok inbound \"ussd\" part", names)
	}
	// The gateway is served, not only reported.
	resp, err := http.PostForm(p.base+"/ussd", url.Values{"sessionId": {"s1"}, "phoneNumber": {"+6281234567890"},
		"serviceCode": {"*123#"}, "text": {""}, "secret": {"gateway-secret"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Errorf("POST /ussd: got %d %s, want 200 text/plain", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}
