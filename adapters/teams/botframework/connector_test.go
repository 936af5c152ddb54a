package botframework_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/resetbot/resetbot/adapters/teams/botframework"
	"github.com/resetbot/resetbot/adapters/teams/botframework/botframeworktest"
)

const testTenant = "c0a7e5e0-0000-4000-8000-000000000000"

func testConnector(t *testing.T) (*botframework.Connector, *botframeworktest.Connector) {
	f := botframeworktest.NewConnector(t)
	c, err := botframework.NewConnector(botframework.ConnectorConfig{Credential: &botframeworktest.Credential{},
		Policy:     botframework.ServiceURLPolicy{AllowLoopback: true},
		HTTPClient: &http.Client{Timeout: 5 * time.Second}, MaxRetryWait: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	botframework.NoWaits(c) // Retry-After is honoured; the test need not wait it out
	return c, f
}

func TestConnectorCalls(t *testing.T) {
	c, f := testConnector(t)
	ctx := context.Background()
	conv, err := c.CreateConversation(ctx, f.ServiceURL(), "28:"+testAppID, testTenant, "29:abc")
	if err != nil || conv != "a:dm-29:abc" {
		t.Fatalf("CreateConversation = %q, %v", conv, err)
	}
	// Teams conversation IDs carry ":", "@" and ";": they must survive the path.
	odd := "19:abc@thread.tacv2;messageid=170"
	id, err := c.Send(ctx, f.ServiceURL(), odd, botframework.Activity{Type: "message", Text: "hi"})
	if err != nil || id == "" {
		t.Fatalf("Send = %q, %v", id, err)
	}
	if err := c.Update(ctx, f.ServiceURL(), odd, id, botframework.Activity{Type: "message", Text: "changed"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, f.ServiceURL(), odd, id); err != nil {
		t.Fatal(err)
	}
	calls := f.Since(0)
	if len(calls) != 4 {
		t.Fatalf("%d calls", len(calls))
	}
	for _, call := range calls[1:] {
		if call.Conv != odd {
			t.Errorf("%s went to conversation %q", call.Method, call.Conv)
		}
	}
	if calls[2].ActivityID != id || !strings.Contains(calls[2].Raw, `"id":"`+id+`"`) {
		t.Errorf("PUT %+v", calls[2])
	}
	if !strings.Contains(calls[0].Raw, `"isGroup":false`) || !strings.Contains(calls[0].Raw, `"tenant":{"id":"`+testTenant+`"}`) {
		t.Errorf("create conversation body %s", calls[0].Raw)
	}
}

func TestConnectorWaitsOutThrottling(t *testing.T) {
	c, f := testConnector(t)
	f.Throttle(2)
	if _, err := c.Send(context.Background(), f.ServiceURL(), "a:1", botframework.Activity{Type: "message"}); err != nil {
		t.Fatalf("after two 429s: %v", err)
	}
	if n := f.Count(); n != 1 {
		t.Fatalf("%d activities recorded, want 1", n)
	}
	// Too many 429s: it gives up, and the error says why without the token.
	f.Throttle(10)
	_, err := c.Send(context.Background(), f.ServiceURL(), "a:1", botframework.Activity{Type: "message"})
	if botframework.StatusOf(err) != http.StatusTooManyRequests || strings.Contains(err.Error(), botframeworktest.Token) {
		t.Fatalf("err = %v", err)
	}
}

func TestConnectorDoesNotWaitLongRetryAfter(t *testing.T) {
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		w.Header().Set("Retry-After", "120")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer srv.Close()
	c, _ := testConnector(t)
	start := time.Now()
	_, err := c.Send(context.Background(), srv.URL, "a:1", botframework.Activity{Type: "message"})
	if botframework.StatusOf(err) != 429 || calls != 1 || time.Since(start) > time.Second {
		t.Fatalf("err %v after %d calls in %s", err, calls, time.Since(start))
	}
}

func TestConnectorErrorsNameTheRefusal(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusForbidden)
		w.Write([]byte(`{"error":{"code":"BotNotInConversationRoster","message":"The bot is not part of the conversation roster."}}`))
	}))
	defer srv.Close()
	c, _ := testConnector(t)
	_, err := c.CreateConversation(context.Background(), srv.URL, "28:x", testTenant, "29:y")
	if err == nil || !strings.Contains(err.Error(), "BotNotInConversationRoster") || !strings.Contains(err.Error(), "installed") ||
		strings.Contains(err.Error(), botframeworktest.Token) {
		t.Fatalf("err = %v", err)
	}
}

// Many goroutines share one connector (run with -race).
func TestConnectorConcurrentSends(t *testing.T) {
	c, f := testConnector(t)
	var wg sync.WaitGroup
	ids := make([]string, 40)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id, err := c.Send(context.Background(), f.ServiceURL(), "a:1", botframework.Activity{Type: "message"})
			if err != nil {
				t.Error(err)
			}
			ids[i] = id
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			t.Fatalf("activity ID %s issued twice", id)
		}
		seen[id] = true
	}
}

func TestServiceURLPolicy(t *testing.T) {
	strict := botframework.ServiceURLPolicy{}
	local := botframework.ServiceURLPolicy{AllowLoopback: true}
	extra := botframework.ServiceURLPolicy{ExtraHosts: []string{"*.bots.example.com"}}
	for _, c := range []struct {
		p    botframework.ServiceURLPolicy
		url  string
		want bool
	}{
		{strict, "https://smba.trafficmanager.net/amer/", true},
		{strict, "https://smba.trafficmanager.net/teams/", true},
		{strict, "https://smba.infra.gcc.teams.microsoft.com/", true},
		{strict, "https://smba.infra.gov.teams.microsoft.us/", true},
		{strict, "https://europe.webchat.botframework.com/", true},
		{strict, "http://smba.trafficmanager.net/amer/", false},
		{strict, "https://smba.trafficmanager.net.evil.com/", false},
		{strict, "https://evilbotframework.com/", false},
		{strict, "https://botframework.com.evil.com/", false},
		{strict, "https://user:pw@smba.trafficmanager.net/", false},
		{strict, "https://smba.trafficmanager.net/?x=1", false},
		{strict, "http://127.0.0.1:56150/_connector", false},
		{strict, "not a url", false},
		{strict, "", false},
		{local, "http://127.0.0.1:56150/_connector", true},
		{local, "http://localhost:56150/_connector", true},
		{local, "http://[::1]:3978/", true},
		{local, "http://10.0.0.1/", false},
		{local, "ftp://127.0.0.1/", false},
		{extra, "https://eu.bots.example.com/", true},
		{extra, "https://bots.example.com/", false},
	} {
		_, err := c.p.Check(c.url)
		if (err == nil) != c.want {
			t.Errorf("%+v.Check(%q) = %v, want allowed %v", c.p, c.url, err, c.want)
		}
	}
}
