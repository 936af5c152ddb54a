package graphtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"
)

func TestDirectoryAuditsPaging(t *testing.T) {
	srv := newServer(t)
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	var entries []DirectoryAudit
	for i := range 250 {
		activity := "Update user"
		if i%5 == 0 {
			activity = "Reset password (by admin)"
		}
		entries = append(entries, DirectoryAudit{
			ID: fmt.Sprintf("audit-%03d", i), ActivityDisplayName: activity, Category: "UserManagement",
			LoggedByService: "Core Directory", Result: "success",
			ActivityDateTime: base.Add(time.Duration(i) * time.Minute),
			InitiatedBy:      AuditInitiator{User: &AuditUser{ID: MeganID, UserPrincipalName: "megan@contoso.com"}},
			TargetResources:  []AuditTarget{{ID: AdeleID, UserPrincipalName: "adele@contoso.com", Type: "User"}},
		})
	}
	// Seed out of order: the server keeps the log in time order.
	srv.AddAudit(entries[100:]...)
	srv.AddAudit(entries[:100]...)

	// Newest first by default, 100 a page, following @odata.nextLink.
	var ids []string
	next := "/v1.0/auditLogs/directoryAudits?$top=100"
	pages := 0
	for next != "" {
		r := send(t, srv, "GET", next, nil)
		if r.Status != 200 {
			t.Fatalf("page %d: %d %s", pages, r.Status, r.Body)
		}
		var page struct {
			Value    []DirectoryAudit `json:"value"`
			NextLink string           `json:"@odata.nextLink"`
		}
		if err := json.Unmarshal(r.Body, &page); err != nil {
			t.Fatal(err)
		}
		for _, a := range page.Value {
			ids = append(ids, a.ID)
		}
		next, pages = page.NextLink, pages+1
	}
	if pages != 3 || len(ids) != 250 || ids[0] != "audit-249" || ids[249] != "audit-000" {
		t.Fatalf("%d pages, %d entries, first %s", pages, len(ids), ids[0])
	}

	// A time window and an activity, oldest first.
	q := url.Values{
		"$filter":  {"activityDateTime ge 2026-11-01T01:00:00Z and activityDateTime le 2026-11-01T02:00:00Z and activityDisplayName eq 'Reset password (by admin)'"},
		"$orderby": {"activityDateTime asc"},
		"$top":     {"5"},
	}
	r := send(t, srv, "GET", "/v1.0/auditLogs/directoryAudits?"+q.Encode(), nil)
	got := values(t, r)
	if len(got) != 5 || got[0]["id"] != "audit-060" || got[4]["id"] != "audit-080" {
		t.Fatalf("window page 1: %v", got)
	}
	// $top and $filter carry over to the next pages: 13 matches in pages of 5.
	r2 := send(t, srv, "GET", r.json(t)["@odata.nextLink"].(string), nil)
	got = values(t, r2)
	if len(got) != 5 || got[0]["id"] != "audit-085" || got[4]["id"] != "audit-105" {
		t.Fatalf("window page 2: %v", got)
	}
	r3 := send(t, srv, "GET", r2.json(t)["@odata.nextLink"].(string), nil)
	got = values(t, r3)
	if len(got) != 3 || got[2]["id"] != "audit-120" || r3.json(t)["@odata.nextLink"] != nil {
		t.Fatalf("window page 3: %v", got)
	}

	// Entries the bot makes land in the same log, initiated by its app.
	send(t, srv, "PATCH", "/v1.0/users/lynne@contoso.com", passwordBody(goodPassword))
	q = url.Values{"$filter": {"initiatedBy/app/appId eq '" + ResetbotAppID + "'"}}
	if got := values(t, send(t, srv, "GET", "/v1.0/auditLogs/directoryAudits?"+q.Encode(), nil)); len(got) != 1 || got[0]["activityDisplayName"] != "Reset user password" {
		t.Errorf("the bot's entries: %v", got)
	}

	if r := send(t, srv, "GET", "/v1.0/auditLogs/directoryAudits/audit-007", nil); r.json(t)["id"] != "audit-007" {
		t.Errorf("get by id: %s", r.Body)
	}
	for _, bad := range []string{"$orderby=displayName", "$skiptoken=garbage", "$filter=" + url.QueryEscape("activityDateTime ge 'yesterday'")} {
		if r := send(t, srv, "GET", "/v1.0/auditLogs/directoryAudits?"+bad, nil); r.Status != 400 {
			t.Errorf("%s: %d", bad, r.Status)
		}
	}
}

func TestDirectoryAuditsJSONShape(t *testing.T) {
	srv := newServer(t)
	srv.AddAudit(DirectoryAudit{ActivityDisplayName: "Reset password (by admin)"})
	got := values(t, send(t, srv, "GET", "/v1.0/auditLogs/directoryAudits", nil))
	if len(got) != 1 {
		t.Fatal(got)
	}
	a := got[0]
	if a["id"] == "" || a["activityDateTime"] == "" || a["targetResources"] == nil || a["additionalDetails"] == nil {
		t.Errorf("entry: %v", a)
	}
	if _, err := time.Parse(time.RFC3339, a["activityDateTime"].(string)); err != nil {
		t.Errorf("activityDateTime: %v", err)
	}
	if init, _ := a["initiatedBy"].(map[string]any); init == nil || init["user"] != nil || init["app"] != nil {
		t.Errorf("initiatedBy: %v", a["initiatedBy"])
	}
}

// BenchmarkDirectoryAudits100k reads a 100,000-entry log in pages of 999, as the digest does.
func BenchmarkDirectoryAudits100k(b *testing.B) {
	srv := NewServer(Contoso())
	defer srv.Close()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	entries := make([]DirectoryAudit, 100_000)
	for i := range entries {
		entries[i] = DirectoryAudit{ID: fmt.Sprint(i), ActivityDisplayName: "Reset user password",
			ActivityDateTime: base.Add(time.Duration(i) * time.Second)}
	}
	srv.AddAudit(entries...)
	client := &http.Client{}
	for b.Loop() {
		next, n := srv.URL+"/v1.0/auditLogs/directoryAudits?$top=999&$filter="+
			url.QueryEscape("activityDateTime ge 2026-01-01T00:00:00Z and activityDisplayName eq 'Reset user password'"), 0
		for next != "" {
			req, _ := http.NewRequest("GET", next, nil)
			req.Header.Set("Authorization", "Bearer "+srv.Token)
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			var page struct {
				Value    []json.RawMessage `json:"value"`
				NextLink string            `json:"@odata.nextLink"`
			}
			json.NewDecoder(resp.Body).Decode(&page)
			resp.Body.Close()
			n += len(page.Value)
			next = page.NextLink
		}
		if n != len(entries) {
			b.Fatalf("read %d entries", n)
		}
	}
}
