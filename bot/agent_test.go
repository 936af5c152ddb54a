package bot

import "testing"

func TestParseLoginLogout(t *testing.T) {
	for text, want := range map[string]CommandKind{"/resetpw login": CmdLogin, "LOGIN": CmdLogin, "resetpw logout": CmdLogout} {
		c, err := ParseCommand(text)
		if err != nil || c.Kind != want {
			t.Errorf("%q: %+v %v", text, c, err)
		}
	}
	if _, err := ParseCommand("/resetpw login adele@contoso.com"); err == nil || err.Error() != "`login` takes nothing after it." {
		t.Errorf("login with an argument: %v", err)
	}
}

// Lists never reset as the agent: synced users, and everyone in delegated-only mode, are refused
// there with a pointer to the single command.
func TestListDecisionRefusesAgentResets(t *testing.T) {
	helen := User{ID: "h", UPN: "helpdesk@contoso.com", Enabled: true, Roles: []RoleAssignment{{TemplateID: RoleHelpdeskAdmin, Scope: "/"}}}
	alex := User{ID: "a", UPN: "alex@contoso.com", DisplayName: "Alex Wilber", Enabled: true, Synced: true}
	adele := User{ID: "d", UPN: "adele@contoso.com", DisplayName: "Adele Vance", Enabled: true}
	s := &Service{cfg: Config{Policy: Policy{Writeback: true}}}
	if d := s.listDecision(CredentialPassword, helen, alex); d.Verdict != Deny || d.Remedy != "Reset them on their own: /resetpw alex@contoso.com." {
		t.Errorf("synced: %+v", d)
	}
	if d := s.listDecision(CredentialPassword, helen, adele); d.Verdict != Allow {
		t.Errorf("cloud: %+v", d)
	}
	s.cfg.Policy.AsAgent = true
	if d := s.listDecision(CredentialPassword, helen, adele); d.Verdict != Deny {
		t.Errorf("delegated-only cloud: %+v", d)
	}
}
