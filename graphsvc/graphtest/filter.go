package graphtest

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// A small OData $filter: comparisons (eq ne gt ge lt le), `in (…)`, startswith(prop,'x'), and/or/not
// and parentheses, over string, boolean and date-time properties. Enough for what resetbot asks; a
// clause outside it is a 400, as an unsupported query is in Graph.

type propKind int

const (
	kindString propKind = iota
	kindBool
	kindTime
)

// record gives a property's value for one object: string, bool, time.Time, or nil for null.
type record func(prop string) any

type filterExpr interface{ match(r record) bool }

type (
	orExpr  []filterExpr
	andExpr []filterExpr
	notExpr struct{ e filterExpr }
	cmpExpr struct {
		prop string
		op   string // eq ne gt ge lt le startswith
		val  any
	}
	inExpr struct {
		prop string
		vals []any
	}
)

func (e orExpr) match(r record) bool {
	for _, x := range e {
		if x.match(r) {
			return true
		}
	}
	return false
}

func (e andExpr) match(r record) bool {
	for _, x := range e {
		if !x.match(r) {
			return false
		}
	}
	return true
}

func (e notExpr) match(r record) bool { return !e.e.match(r) }

func (e inExpr) match(r record) bool {
	v := r(e.prop)
	for _, w := range e.vals {
		if a, ok := v.(string); ok {
			if b, ok := w.(string); ok {
				if strings.EqualFold(a, b) { // compare's case-insensitive equality, without lowering both
					return true
				}
				continue
			}
		}
		if compare(v, w) == 0 {
			return true
		}
	}
	return false
}

func (e cmpExpr) match(r record) bool {
	v := r(e.prop)
	if e.op == "startswith" {
		s, ok := v.(string)
		return ok && strings.HasPrefix(lower(s), lower(e.val.(string)))
	}
	c := compare(v, e.val)
	switch e.op {
	case "eq":
		return c == 0
	case "ne":
		return c != 0
	}
	if v == nil || e.val == nil || c == incomparable {
		return false
	}
	switch e.op {
	case "gt":
		return c > 0
	case "ge":
		return c >= 0
	case "lt":
		return c < 0
	default: // le
		return c <= 0
	}
}

const incomparable = 2

// compare orders two values of the same kind; strings compare case-insensitively, as Graph's eq on
// userPrincipalName and mail does.
func compare(a, b any) int {
	switch x := a.(type) {
	case nil:
		if b == nil {
			return 0
		}
		return incomparable
	case string:
		if y, ok := b.(string); ok {
			return strings.Compare(lower(x), lower(y))
		}
	case bool:
		if y, ok := b.(bool); ok {
			if x == y {
				return 0
			}
			return incomparable
		}
	case time.Time:
		if y, ok := b.(time.Time); ok {
			return x.Compare(y)
		}
	}
	return incomparable
}

// maxOrClauses is Graph's limit on the clauses one $filter may join with or, counting each value of
// an `in (…)` as one: "limited to 15 expressions in the filter clause by default".
const maxOrClauses = 15

// errTooManyClauses is a filter past maxOrClauses; Graph refuses it as an unsupported query.
type errTooManyClauses int

func (n errTooManyClauses) Error() string {
	return fmt.Sprintf("Too many child clauses specified in search filter expression containing 'OR' operators: %d. Max allowed: %d.", int(n), maxOrClauses)
}

// orClauses counts the clauses e joins with or and reports the largest such group anywhere in e.
func orClauses(e filterExpr) (here, most int) {
	switch x := e.(type) {
	case inExpr:
		return len(x.vals), len(x.vals)
	case orExpr:
		for _, t := range x {
			h, m := orClauses(t)
			here += h
			most = max(most, m)
		}
		return here, max(most, here)
	case andExpr:
		for _, t := range x {
			_, m := orClauses(t)
			most = max(most, m)
		}
	case notExpr:
		_, most = orClauses(x.e)
	}
	return 1, max(most, 1)
}

// filterOf parses the call's $filter over props: nil when there is none, or Graph's 400.
func filterOf(c *call, props map[string]propKind) (filterExpr, *response) {
	f := option(c, "filter")
	if f == "" {
		return nil, nil
	}
	e, err := parseFilter(f, props)
	var tooMany errTooManyClauses
	switch {
	case errors.As(err, &tooMany):
		r := graphError(http.StatusBadRequest, "Request_UnsupportedQuery", err.Error())
		return nil, &r
	case err != nil:
		r := badRequest("Invalid filter clause: " + err.Error())
		return nil, &r
	}
	return e, nil
}

// parseFilter compiles a $filter over the given properties.
func parseFilter(src string, props map[string]propKind) (filterExpr, error) {
	toks, err := tokenize(src)
	if err != nil {
		return nil, err
	}
	p := &filterParser{toks: toks, props: props}
	e, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.pos < len(p.toks) {
		return nil, fmt.Errorf("Syntax error at position %d in '%s'.", p.toks[p.pos].at, src)
	}
	if _, most := orClauses(e); most > maxOrClauses {
		return nil, errTooManyClauses(most)
	}
	return e, nil
}

type token struct {
	text   string
	quoted bool // a string literal
	at     int
}

func tokenize(src string) ([]token, error) {
	var toks []token
	for i := 0; i < len(src); {
		switch ch := src[i]; {
		case ch == ' ':
			i++
		case ch == '(' || ch == ')' || ch == ',':
			toks = append(toks, token{text: string(ch), at: i})
			i++
		case ch == '\'':
			var b strings.Builder
			j := i + 1
			for ; ; j++ {
				if j >= len(src) {
					return nil, fmt.Errorf("Unterminated string literal at position %d in '%s'.", i, src)
				}
				if src[j] == '\'' {
					if j+1 < len(src) && src[j+1] == '\'' { // '' is an escaped quote
						b.WriteByte('\'')
						j++
						continue
					}
					break
				}
				b.WriteByte(src[j])
			}
			toks = append(toks, token{text: b.String(), quoted: true, at: i})
			i = j + 1
		default:
			j := i
			for j < len(src) && !strings.ContainsRune(" (),'", rune(src[j])) {
				j++
			}
			toks = append(toks, token{text: src[i:j], at: i})
			i = j
		}
	}
	return toks, nil
}

type filterParser struct {
	toks  []token
	pos   int
	props map[string]propKind
}

func (p *filterParser) peekWord(w string) bool {
	return p.pos < len(p.toks) && !p.toks[p.pos].quoted && strings.EqualFold(p.toks[p.pos].text, w)
}

func (p *filterParser) next() (token, error) {
	if p.pos >= len(p.toks) {
		return token{}, errors.New("Syntax error: the filter ends too early.")
	}
	t := p.toks[p.pos]
	p.pos++
	return t, nil
}

func (p *filterParser) expect(w string) error {
	t, err := p.next()
	if err != nil {
		return err
	}
	if t.quoted || !strings.EqualFold(t.text, w) {
		return fmt.Errorf("Syntax error: '%s' expected at position %d.", w, t.at)
	}
	return nil
}

func (p *filterParser) or() (filterExpr, error) {
	var terms orExpr
	for {
		e, err := p.and()
		if err != nil {
			return nil, err
		}
		terms = append(terms, e)
		if !p.peekWord("or") {
			break
		}
		p.pos++
	}
	if len(terms) == 1 {
		return terms[0], nil
	}
	return terms, nil
}

func (p *filterParser) and() (filterExpr, error) {
	var terms andExpr
	for {
		e, err := p.unary()
		if err != nil {
			return nil, err
		}
		terms = append(terms, e)
		if !p.peekWord("and") {
			break
		}
		p.pos++
	}
	if len(terms) == 1 {
		return terms[0], nil
	}
	return terms, nil
}

func (p *filterParser) unary() (filterExpr, error) {
	if p.peekWord("not") {
		p.pos++
		e, err := p.unary()
		return notExpr{e}, err
	}
	if p.peekWord("(") {
		p.pos++
		e, err := p.or()
		if err != nil {
			return nil, err
		}
		return e, p.expect(")")
	}
	if p.peekWord("startswith") {
		p.pos++
		if err := p.expect("("); err != nil {
			return nil, err
		}
		prop, kind, err := p.prop()
		if err != nil {
			return nil, err
		}
		if kind != kindString {
			return nil, fmt.Errorf("startswith needs a string property, not '%s'.", prop)
		}
		if err := p.expect(","); err != nil {
			return nil, err
		}
		v, err := p.literal(kind)
		if err != nil {
			return nil, err
		}
		return cmpExpr{prop: prop, op: "startswith", val: v}, p.expect(")")
	}
	prop, kind, err := p.prop()
	if err != nil {
		return nil, err
	}
	op, err := p.next()
	if err != nil {
		return nil, err
	}
	switch o := lower(op.text); {
	case op.quoted:
	case o == "in":
		if err := p.expect("("); err != nil {
			return nil, err
		}
		var vals []any
		for {
			v, err := p.literal(kind)
			if err != nil {
				return nil, err
			}
			vals = append(vals, v)
			if !p.peekWord(",") {
				break
			}
			p.pos++
		}
		return inExpr{prop: prop, vals: vals}, p.expect(")")
	case o == "eq" || o == "ne" || o == "gt" || o == "ge" || o == "lt" || o == "le":
		v, err := p.literal(kind)
		return cmpExpr{prop: prop, op: o, val: v}, err
	}
	return nil, fmt.Errorf("Syntax error: unsupported operator '%s' at position %d.", op.text, op.at)
}

func (p *filterParser) prop() (string, propKind, error) {
	t, err := p.next()
	if err != nil {
		return "", 0, err
	}
	if !t.quoted {
		for name, kind := range p.props {
			if strings.EqualFold(name, t.text) {
				return name, kind, nil
			}
		}
	}
	if strings.Contains(t.text, "/any") || strings.Contains(t.text, "/all") {
		return "", 0, fmt.Errorf("Unsupported query: lambda operators are not supported by the simulator ('%s').", t.text)
	}
	return "", 0, fmt.Errorf("Could not find a property named '%s' on the filtered type.", t.text)
}

func (p *filterParser) literal(kind propKind) (any, error) {
	t, err := p.next()
	if err != nil {
		return nil, err
	}
	if !t.quoted && lower(t.text) == "null" {
		return nil, nil
	}
	switch kind {
	case kindBool:
		if !t.quoted && (lower(t.text) == "true" || lower(t.text) == "false") {
			return lower(t.text) == "true", nil
		}
	case kindTime:
		// Graph takes date-times unquoted (activityDateTime ge 2025-01-01T00:00:00Z).
		if tm, err := time.Parse(time.RFC3339Nano, t.text); err == nil && !t.quoted {
			return tm, nil
		}
	default:
		if t.quoted {
			return t.text, nil
		}
	}
	return nil, fmt.Errorf("A binary operator with incompatible types was detected: literal '%s' at position %d.", t.text, t.at)
}
