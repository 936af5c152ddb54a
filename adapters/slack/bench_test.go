package slack

import (
	"bytes"
	"net/http"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/resetbot/resetbot/internal/scenariotest"
)

// BenchmarkSlashCommandAck measures how long Slack waits for its acknowledgement when 200 signed slash
// commands arrive at once, through the real handler on loopback, while Graph answers every call in
// 500 ms: each round's resets (users.info, the service, Graph) start while the round is acknowledged,
// and finish before the next round. Reported: p50 and p99 as the client saw them (request written →
// acknowledgement read), and p99 as the server measured it (the resetbot_ack_duration_seconds metric).
//
// The tail is set by Go's garbage collector: a round's resets leave tens of MB of garbage (the Graph
// SDK mostly), and a collection that runs during the next round's acknowledgements slows all of them.
// "settled" collects between rounds (timer stopped), as after a quiet spell; "gc-anytime" does not.
//
//	go test -run '^$' -bench BenchmarkSlashCommandAck -benchtime 30x ./adapters/slack/
func BenchmarkSlashCommandAck(b *testing.B) {
	b.Run("settled", func(b *testing.B) { benchmarkAck(b, true) })
	b.Run("gc-anytime", func(b *testing.B) { benchmarkAck(b, false) })
}

func benchmarkAck(b *testing.B, settle bool) {
	const concurrent = 200
	env := scenariotest.NewEnv(b, nil)
	var mu sync.Mutex
	var serverSide []time.Duration
	h := newHarness(b, env, func(c *Config) {
		c.Acked = func(d time.Duration) {
			mu.Lock()
			serverSide = append(serverSide, d)
			mu.Unlock()
		}
	})
	env.Graph.SetLatency(500 * time.Millisecond)
	// Slack keeps connections open; so does this client, so the figure is the bot's, not TCP's.
	client := &http.Client{Transport: &http.Transport{MaxIdleConns: 2 * concurrent, MaxIdleConnsPerHost: 2 * concurrent}}
	defer client.CloseIdleConnections()
	targets := []string{"adele@contoso.com", "lynne@contoso.com", "nestor@contoso.com", "lee@contoso.com"}
	users := []string{"U_HELPDESK", "U_PAT", "U_SAM", "U_PWADMIN", "U_USERADMIN", "U_AUTHADMIN"}

	var clientSide []time.Duration
	round := func() {
		reqs := make([]*http.Request, concurrent)
		for i := range reqs {
			body := []byte(h.slashForm(users[i%len(users)], targets[i%len(targets)]).Encode())
			req, _ := http.NewRequest(http.MethodPost, h.srv.URL+"/slack/commands", bytes.NewReader(body))
			ts, sig := sign(fakeSecret, time.Now(), body)
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("X-Slack-Request-Timestamp", ts)
			req.Header.Set("X-Slack-Signature", sig)
			reqs[i] = req
		}
		took := make([]time.Duration, concurrent)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i, req := range reqs {
			wg.Go(func() {
				<-start
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				var buf bytes.Buffer
				_, _ = buf.ReadFrom(resp.Body)
				resp.Body.Close()
				took[i] = time.Since(t0)
				if resp.StatusCode != http.StatusOK {
					b.Errorf("status %d", resp.StatusCode)
				}
			})
		}
		close(start)
		wg.Wait()
		clientSide = append(clientSide, took...)
	}
	// One round first: connections, auth.test and the identity cache warm up as in a running bot.
	round()
	clientSide = clientSide[:0]
	mu.Lock()
	serverSide = serverSide[:0]
	mu.Unlock()

	b.ResetTimer()
	for range b.N {
		round()
		// Let this round's resets finish before the next: each round is acknowledged while its own
		// Graph work runs, and the backlog does not grow without end.
		b.StopTimer()
		h.adapter.Wait()
		if settle {
			runtime.GC()
		}
		b.StartTimer()
	}
	b.StopTimer()
	h.adapter.Wait()

	slices.Sort(clientSide)
	mu.Lock()
	slices.Sort(serverSide)
	mu.Unlock()
	pct := func(d []time.Duration, p float64) float64 {
		return float64(d[min(len(d)-1, int(p*float64(len(d))))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(clientSide, 0.50), "p50-ms")
	b.ReportMetric(pct(clientSide, 0.99), "p99-ms")
	b.ReportMetric(pct(serverSide, 0.99), "server-p99-ms")
	b.ReportMetric(float64(len(clientSide)), "acks")
}
