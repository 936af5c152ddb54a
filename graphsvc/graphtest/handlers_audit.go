package graphtest

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
)

var auditFilterProps = map[string]propKind{
	"id": kindString, "activityDateTime": kindTime, "activityDisplayName": kindString,
	"category": kindString, "correlationId": kindString, "loggedByService": kindString,
	"operationType": kindString, "result": kindString,
	"initiatedBy/app/appId": kindString, "initiatedBy/app/displayName": kindString,
	"initiatedBy/user/id": kindString, "initiatedBy/user/displayName": kindString,
	"initiatedBy/user/userPrincipalName": kindString,
}

func auditRecord(a *DirectoryAudit) record {
	return func(prop string) any {
		switch prop {
		case "id":
			return a.ID
		case "activityDateTime":
			return a.ActivityDateTime
		case "activityDisplayName":
			return a.ActivityDisplayName
		case "category":
			return a.Category
		case "correlationId":
			return a.CorrelationID
		case "loggedByService":
			return a.LoggedByService
		case "operationType":
			return a.OperationType
		case "result":
			return a.Result
		}
		app, user := a.InitiatedBy.App, a.InitiatedBy.User
		switch {
		case prop == "initiatedBy/app/appId" && app != nil:
			return app.AppID
		case prop == "initiatedBy/app/displayName" && app != nil:
			return app.DisplayName
		case prop == "initiatedBy/user/id" && user != nil:
			return user.ID
		case prop == "initiatedBy/user/displayName" && user != nil:
			return user.DisplayName
		case prop == "initiatedBy/user/userPrincipalName" && user != nil:
			return user.UserPrincipalName
		}
		return nil
	}
}

// listDirectoryAudits is GET /auditLogs/directoryAudits: $filter, $top, $orderby activityDateTime
// (desc by default), paged by @odata.nextLink. The page token is a position in the log, which is kept
// in time order, so a digest over 100,000 entries reads each entry once, and entries written while
// it pages (newer than what it is reading) do not shift its pages.
func (s *Server) listDirectoryAudits(c *call, _ []string) response {
	filter, bad := filterOf(c, auditFilterProps)
	if bad != nil {
		return *bad
	}
	desc := true
	switch ob := strings.Join(strings.Fields(lower(option(c, "orderby"))), " "); ob {
	case "", "activitydatetime desc":
	case "activitydatetime", "activitydatetime asc":
		desc = false
	default:
		return graphError(http.StatusBadRequest, "Request_UnsupportedQuery", "Unsupported $orderby: '"+option(c, "orderby")+"'.")
	}
	top, bad := pageSize(c, 100)
	if bad != nil {
		return *bad
	}
	// Ascending, pos is the next index to read; descending, the index just above it.
	pos := 0
	if desc {
		pos = len(s.audits)
	}
	if raw := option(c, "skiptoken"); raw != "" {
		b, err := base64.RawURLEncoding.DecodeString(raw)
		n, err2 := strconv.Atoi(strings.TrimPrefix(string(b), "pos:"))
		if err != nil || err2 != nil || n < 0 || n > len(s.audits) {
			return graphError(http.StatusBadRequest, "Request_BadRequest", "The specified page token value has expired or is invalid.")
		}
		pos = n
	}
	items := []DirectoryAudit{}
	more := false
	for {
		i := pos
		if desc {
			i = pos - 1
		}
		if i < 0 || i >= len(s.audits) {
			break
		}
		a := &s.audits[i]
		if filter == nil || filter.match(auditRecord(a)) {
			if len(items) == top {
				more = true
				break
			}
			items = append(items, a.wire())
		}
		if desc {
			pos--
		} else {
			pos++
		}
	}
	body := map[string]any{
		"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#auditLogs/directoryAudits",
		"value":          items,
	}
	if more {
		body["@odata.nextLink"] = s.nextLink(c, pos)
	}
	return ok(http.StatusOK, body)
}

func (s *Server) getDirectoryAudit(_ *call, p []string) response {
	for i := range s.audits {
		if s.audits[i].ID == p[0] {
			return ok(http.StatusOK, s.audits[i].wire())
		}
	}
	return notFound(p[0])
}

// wire is a copy fit to serve: collections Graph always sends as arrays are never null.
func (a *DirectoryAudit) wire() DirectoryAudit {
	w := a.clone()
	if w.TargetResources == nil {
		w.TargetResources = []AuditTarget{}
	}
	for i := range w.TargetResources {
		if w.TargetResources[i].ModifiedProperties == nil {
			w.TargetResources[i].ModifiedProperties = []AuditModified{}
		}
	}
	if w.AdditionalDetails == nil {
		w.AdditionalDetails = []AuditDetailPair{}
	}
	return w
}
