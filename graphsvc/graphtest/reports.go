package graphtest

import (
	"strings"
	"time"
)

// Graph's reports APIs, auditLogs among them, allow 5 requests per 10 seconds per app and tenant
// (graph.md §6); past that they answer 429 with Retry-After.

// reportsBudget is a sliding-window log of the reports requests admitted, and a record of every
// one that arrived, for tests to check a reader's pace.
type reportsBudget struct {
	limit int
	per   time.Duration
	times []time.Time // admitted within the last per
	log   []ReportsRequest
}

// ReportsRequest is one request to a reports API (auditLogs/…) as it arrived.
type ReportsRequest struct {
	At        time.Time // real time, like the budget's window
	Throttled bool      // answered 429
}

// SetReportsBudget makes auditLogs/… answer 429 TooManyRequests with a Retry-After past `requests`
// per sliding window of `per`, like Graph's 5 per 10 s. Throttled requests do not spend budget.
// requests <= 0 means unlimited (the default). Every reports request is recorded either way
// (ReportsRequests).
func (s *Server) SetReportsBudget(requests int, per time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reports.limit, s.reports.per = requests, per
}

// ReportsRequests returns the reports requests received so far, oldest first.
func (s *Server) ReportsRequests() []ReportsRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]ReportsRequest(nil), s.reports.log...)
}

// MostReportsIn is the largest number of admitted (not throttled) reports requests in any window
// of length per: what a paced reader keeps at or under the budget.
func MostReportsIn(reqs []ReportsRequest, per time.Duration) int {
	var at []time.Time
	for _, r := range reqs {
		if !r.Throttled {
			at = append(at, r.At)
		}
	}
	most, j := 0, 0
	for i := range at {
		for at[i].Sub(at[j]) >= per {
			j++
		}
		most = max(most, i-j+1)
	}
	return most
}

func isReportsCall(c *call) bool {
	p := strings.ToLower(c.path)
	return strings.HasPrefix(p, "/v1.0/auditlogs/") || strings.HasPrefix(p, "/beta/auditlogs/") || strings.HasPrefix(p, "/v1.0/reports/")
}

// admit records a reports call at now and returns 0, or how long until the window has room.
// Server.mu must be held.
func (b *reportsBudget) admit(c *call, now time.Time) time.Duration {
	if !isReportsCall(c) {
		return 0
	}
	wait := time.Duration(0)
	if b.limit > 0 {
		cutoff := now.Add(-b.per)
		i := 0
		for i < len(b.times) && !b.times[i].After(cutoff) {
			i++
		}
		b.times = b.times[i:]
		if len(b.times) >= b.limit {
			wait = max(b.times[0].Add(b.per).Sub(now), time.Nanosecond)
		} else {
			b.times = append(b.times, now)
		}
	}
	b.log = append(b.log, ReportsRequest{At: now, Throttled: wait > 0})
	return wait
}

// Entra's entries for password resets made outside resetbot, for seeding a tenant's log: what the
// admin center, Graph PowerShell and self-service password reset write.

// LogAdminReset writes what Entra logs when an admin resets targetUPN's password in the admin center
// (or with Graph PowerShell signed in as themselves): "Reset password (by admin)" from the password
// service and "Reset user password" from the core directory, one correlation ID, initiated by the
// admin's user with their IP address.
func (s *Server) LogAdminReset(at time.Time, adminUPN, targetUPN, ip string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	by := AuditInitiator{User: s.auditUser(adminUPN, ip)}
	s.logOutside(at, by, targetUPN, "Reset password (by admin)", "Self-service Password Management")
	s.logOutside(at, by, targetUPN, "Reset user password", "Core Directory")
}

// LogSelfServiceReset writes what Entra logs when a user resets their own password through SSPR.
func (s *Server) LogSelfServiceReset(at time.Time, targetUPN, ip string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.logOutside(at, AuditInitiator{User: s.auditUser(targetUPN, ip)}, targetUPN, "Reset password (self-service)",
		"Self-service Password Management")
}

// LogAppReset writes what Entra logs when another app (an automation with its own app registration,
// say a PowerShell script run as a service principal) resets a password.
func (s *Server) LogAppReset(at time.Time, appID, appName, targetUPN string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.logOutside(at, AuditInitiator{App: &AuditApp{AppID: appID, DisplayName: appName, ServicePrincipalID: newGUID()}},
		targetUPN, "Reset user password", "Core Directory")
}

func (s *Server) auditUser(upn, ip string) *AuditUser {
	u := &AuditUser{UserPrincipalName: upn, IPAddress: ip}
	if id, ok := s.byUPN[strings.ToLower(upn)]; ok {
		u.ID, u.DisplayName = id, s.users[id].DisplayName
	}
	return u
}

func (s *Server) logOutside(at time.Time, by AuditInitiator, targetUPN, activity, service string) {
	t := AuditTarget{Type: "User", UserPrincipalName: targetUPN}
	if id, ok := s.byUPN[strings.ToLower(targetUPN)]; ok {
		t.ID, t.DisplayName = id, s.users[id].DisplayName
	}
	corr := at.UTC().Format(time.RFC3339Nano) + "|" + strings.ToLower(targetUPN)
	s.addAudits(at, []DirectoryAudit{{Category: "UserManagement", CorrelationID: corr, Result: "success",
		ActivityDisplayName: activity, ActivityDateTime: at, LoggedByService: service, OperationType: "Update",
		InitiatedBy: by, TargetResources: []AuditTarget{t}}})
}
