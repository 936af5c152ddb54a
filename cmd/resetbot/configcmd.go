package main

import (
	"errors"
	"fmt"

	"strings"
	"text/tabwriter"
)

// configCmd is `resetbot config`: what serve would run with, and whether it would start.
type configCmd struct {
	Show  configShowCmd  `cmd:"" default:"1" help:"List every setting with its value (secrets hidden) or its default."`
	Check configCheckCmd `cmd:"" help:"Check every setting as serve would, and report every problem at once (exit 1 when there is one)."`
}

type configShowCmd struct{}

func (configShowCmd) Run(cc *cliContext) error {
	w := tabwriter.NewWriter(cc.Stdout, 0, 0, 2, ' ', 0)
	for _, sec := range settingsTable {
		fmt.Fprintf(w, "%s\n", sec.Title)
		for _, s := range sec.Settings {
			name, value := s.Name, cc.Getenv(s.Name)
			for _, a := range s.Aliases {
				if value == "" {
					if v := cc.Getenv(a); v != "" {
						name, value = s.Name+" (as "+a+")", v
					}
				}
			}
			var shown string
			switch {
			case value != "" && s.Secret:
				shown = "(set, hidden)"
			case value != "":
				shown = value
			case s.Default != "":
				shown = s.Default + "\t(default)"
			default:
				shown = "\t(not set)"
			}
			fmt.Fprintf(w, "  %s\t%s\n", name, shown)
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if unknown := unknownSettings(environ(cc)); len(unknown) > 0 {
		fmt.Fprintln(cc.Stdout, "\nNot settings (typos?)")
		for _, u := range unknown {
			fmt.Fprintln(cc.Stdout, "  "+u)
		}
	}
	return nil
}

type configCheckCmd struct{}

// Run reads every setting as serve does and lists every problem; it contacts nothing.
func (configCheckCmd) Run(cc *cliContext) error {
	c, err := loadAll(cc.Getenv, environ(cc))
	var ce *configError
	if err != nil && !errors.As(err, &ce) {
		return err
	}
	if ce == nil {
		ce = &configError{}
	}
	for _, u := range c.Unknown {
		ce.problems = append(ce.problems, problem{"Unknown settings", u})
	}
	if len(ce.problems) > 0 {
		return ce
	}
	var platforms []string
	if c.Slack != nil {
		mode := "HTTP mode"
		if c.Slack.SocketMode() {
			mode = "Socket Mode"
		}
		platforms = append(platforms, "Slack ("+mode+")")
	}
	if c.Teams != nil {
		platforms = append(platforms, "Teams")
	}
	fmt.Fprintf(cc.Stdout, "configuration OK: %s; store %s; listening on %s", strings.Join(platforms, " and "), redactedStore(c.Serve.Store), c.Serve.Listen)
	if c.Ops.OpsListen != "" {
		fmt.Fprintf(cc.Stdout, ", ops endpoints on %s", c.Ops.OpsListen)
	}
	if c.Ops.TLSCert != "" {
		fmt.Fprint(cc.Stdout, ", HTTPS")
	}
	fmt.Fprintln(cc.Stdout)
	fmt.Fprintln(cc.Stdout, "(nothing was contacted: resetbot check USER tries Graph, and /readyz says whether the store and the platforms answer)")
	return nil
}

// environ is the process's variables, or none when a test gave its own getenv.
func environ(cc *cliContext) []string {
	if cc.Environ != nil {
		return cc.Environ()
	}
	return nil
}

// redactedStore shows where the store is without a password.
func redactedStore(dsn string) string {
	if i := strings.Index(dsn, "://"); i >= 0 {
		if at := strings.LastIndex(dsn, "@"); at > i {
			user := dsn[i+3 : at]
			if name, _, ok := strings.Cut(user, ":"); ok {
				dsn = dsn[:i+3] + name + ":…" + dsn[at:]
			}
		}
	}
	if base, q, ok := strings.Cut(dsn, "?"); ok && strings.Contains(strings.ToLower(q), "password=") {
		dsn = base + "?…"
	}
	return dsn
}
