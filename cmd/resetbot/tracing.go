package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/resetbot/resetbot/chat"
)

// Tracing is OpenTelemetry's SDK with a small exporter of our own for OTLP over HTTP in its JSON
// encoding, which the OpenTelemetry Collector and most tracing back ends take on port 4318. The
// upstream OTLP exporters compile gRPC into the binary even for HTTP (about 70 packages and several
// megabytes); spans are few here (one per request, a few per Graph call), so a JSON encoder is
// enough. Off unless OTEL_EXPORTER_OTLP_ENDPOINT (or …_TRACES_ENDPOINT) is set; the standard
// OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES and OTEL_TRACES_SAMPLER are honoured by the SDK.

// tracingSettings are what setupTracing reads.
type tracingSettings struct {
	URL     string // the traces endpoint, …/v1/traces
	Headers map[string]string
}

// tracingFromEnv reads the OTLP settings; ok is false when tracing is off.
func tracingFromEnv(getenv func(string) string) (s tracingSettings, ok bool, err error) {
	switch {
	case getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "":
		s.URL = getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
	case getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "":
		s.URL = strings.TrimRight(getenv("OTEL_EXPORTER_OTLP_ENDPOINT"), "/") + "/v1/traces"
	default:
		return s, false, nil
	}
	if u, perr := url.Parse(s.URL); perr != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return s, false, fmt.Errorf("OTEL_EXPORTER_OTLP_ENDPOINT=%q: want the collector's http(s) URL, such as http://otel-collector:4318", s.URL)
	}
	s.Headers = map[string]string{}
	for _, kv := range strings.Split(getenv("OTEL_EXPORTER_OTLP_HEADERS"), ",") {
		k, v, found := strings.Cut(kv, "=")
		if k = strings.TrimSpace(k); !found || k == "" {
			continue
		}
		if dv, derr := url.QueryUnescape(strings.TrimSpace(v)); derr == nil {
			v = dv
		}
		s.Headers[k] = v
	}
	return s, true, nil
}

// setupTracing installs the global tracer provider (kiota's Graph spans use it too) and the W3C
// trace context propagator. The returned function flushes and stops it.
func setupTracing(ctx context.Context, s tracingSettings, b buildInfo) (func(context.Context) error, error) {
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", "resetbot"), attribute.String("service.version", b.Version)),
		resource.WithFromEnv(), // OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES win over the above
		resource.WithTelemetrySDK(),
	)
	if err != nil {
		return nil, fmt.Errorf("OpenTelemetry resource: %w", err)
	}
	exp := &otlpJSONExporter{url: s.URL, headers: s.Headers, client: &http.Client{Timeout: 10 * time.Second}, res: res}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	return tp.Shutdown, nil
}

// otlpJSONExporter posts spans to an OTLP/HTTP endpoint as JSON (the OTLP specification's JSON
// mapping of ExportTraceServiceRequest: hex IDs, 64-bit integers as strings, enums as numbers).
type otlpJSONExporter struct {
	url     string
	headers map[string]string
	client  *http.Client
	res     *resource.Resource
}

func (e *otlpJSONExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	if len(spans) == 0 {
		return nil
	}
	body, err := json.Marshal(encodeSpans(e.res, spans))
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range e.headers {
		req.Header.Set(k, v)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		return fmt.Errorf("OTLP export: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("OTLP export: %s answered %s", e.url, resp.Status)
	}
	return nil
}

func (e *otlpJSONExporter) Shutdown(context.Context) error { return nil }

type otlpValue struct {
	StringValue *string         `json:"stringValue,omitempty"`
	BoolValue   *bool           `json:"boolValue,omitempty"`
	IntValue    *string         `json:"intValue,omitempty"`
	DoubleValue *float64        `json:"doubleValue,omitempty"`
	ArrayValue  *otlpArrayValue `json:"arrayValue,omitempty"`
}

type otlpArrayValue struct {
	Values []otlpValue `json:"values"`
}

type otlpKeyValue struct {
	Key   string    `json:"key"`
	Value otlpValue `json:"value"`
}

type otlpSpan struct {
	TraceID           string         `json:"traceId"`
	SpanID            string         `json:"spanId"`
	ParentSpanID      string         `json:"parentSpanId,omitempty"`
	Name              string         `json:"name"`
	Kind              int            `json:"kind"`
	StartTimeUnixNano string         `json:"startTimeUnixNano"`
	EndTimeUnixNano   string         `json:"endTimeUnixNano"`
	Attributes        []otlpKeyValue `json:"attributes,omitempty"`
	Events            []otlpEvent    `json:"events,omitempty"`
	Status            otlpStatus     `json:"status"`
}

type otlpEvent struct {
	TimeUnixNano string         `json:"timeUnixNano"`
	Name         string         `json:"name"`
	Attributes   []otlpKeyValue `json:"attributes,omitempty"`
}

type otlpStatus struct {
	Code    int    `json:"code,omitempty"` // 0 unset, 1 ok, 2 error
	Message string `json:"message,omitempty"`
}

type otlpScopeSpans struct {
	Scope struct {
		Name    string `json:"name"`
		Version string `json:"version,omitempty"`
	} `json:"scope"`
	Spans []otlpSpan `json:"spans"`
}

type otlpRequest struct {
	ResourceSpans []otlpResourceSpans `json:"resourceSpans"`
}

type otlpResourceSpans struct {
	Resource struct {
		Attributes []otlpKeyValue `json:"attributes"`
	} `json:"resource"`
	ScopeSpans []*otlpScopeSpans `json:"scopeSpans"`
}

func encodeSpans(res *resource.Resource, spans []sdktrace.ReadOnlySpan) otlpRequest {
	req := otlpRequest{ResourceSpans: make([]otlpResourceSpans, 1)}
	rs := &req.ResourceSpans[0]
	rs.Resource.Attributes = encodeAttrs(res.Attributes())
	scopes := map[string]*otlpScopeSpans{}
	for _, s := range spans {
		key := s.InstrumentationScope().Name + "\x00" + s.InstrumentationScope().Version
		ss := scopes[key]
		if ss == nil {
			ss = &otlpScopeSpans{}
			ss.Scope.Name, ss.Scope.Version = s.InstrumentationScope().Name, s.InstrumentationScope().Version
			scopes[key] = ss
			rs.ScopeSpans = append(rs.ScopeSpans, ss)
		}
		sc := s.SpanContext()
		tid, sid := sc.TraceID(), sc.SpanID()
		o := otlpSpan{TraceID: hex.EncodeToString(tid[:]), SpanID: hex.EncodeToString(sid[:]), Name: s.Name(),
			Kind: int(s.SpanKind()), StartTimeUnixNano: nanos(s.StartTime()), EndTimeUnixNano: nanos(s.EndTime()),
			Attributes: encodeAttrs(s.Attributes())}
		if p := s.Parent(); p.IsValid() {
			psid := p.SpanID()
			o.ParentSpanID = hex.EncodeToString(psid[:])
		}
		switch s.Status().Code {
		case codes.Ok:
			o.Status.Code = 1
		case codes.Error:
			o.Status.Code, o.Status.Message = 2, s.Status().Description
		}
		for _, ev := range s.Events() {
			o.Events = append(o.Events, otlpEvent{TimeUnixNano: nanos(ev.Time), Name: ev.Name, Attributes: encodeAttrs(ev.Attributes)})
		}
		ss.Spans = append(ss.Spans, o)
	}
	return req
}

func nanos(t time.Time) string { return strconv.FormatInt(t.UnixNano(), 10) }

func encodeAttrs(kvs []attribute.KeyValue) []otlpKeyValue {
	out := make([]otlpKeyValue, 0, len(kvs))
	for _, kv := range kvs {
		out = append(out, otlpKeyValue{Key: string(kv.Key), Value: encodeValue(kv.Value)})
	}
	return out
}

func encodeValue(v attribute.Value) otlpValue {
	switch v.Type() {
	case attribute.BOOL:
		b := v.AsBool()
		return otlpValue{BoolValue: &b}
	case attribute.INT64:
		s := strconv.FormatInt(v.AsInt64(), 10)
		return otlpValue{IntValue: &s}
	case attribute.FLOAT64:
		f := v.AsFloat64()
		return otlpValue{DoubleValue: &f}
	case attribute.BOOLSLICE:
		return arrayOf(v.AsBoolSlice(), attribute.BoolValue)
	case attribute.INT64SLICE:
		return arrayOf(v.AsInt64Slice(), attribute.Int64Value)
	case attribute.FLOAT64SLICE:
		return arrayOf(v.AsFloat64Slice(), attribute.Float64Value)
	case attribute.STRINGSLICE:
		return arrayOf(v.AsStringSlice(), attribute.StringValue)
	}
	s := v.Emit()
	return otlpValue{StringValue: &s}
}

func arrayOf[T any](xs []T, value func(T) attribute.Value) otlpValue {
	vals := make([]otlpValue, len(xs))
	for i, x := range xs {
		vals[i] = encodeValue(value(x))
	}
	return otlpValue{ArrayValue: &otlpArrayValue{Values: vals}}
}

// chatHandler is what the adapters hand their work to: bot.Service, through its one door.
type chatHandler = chat.Handler

// tracedHandler gives each piece of work the adapters run after their acknowledgement a span of
// its own: they run it detached from the request (which has ended), so without it every Graph
// call would be a trace of its own. With it, one command or click is one trace, its Graph calls
// (kiota's spans) its children. Names and attributes carry no person and no command text.
type tracedHandler struct {
	chatHandler
	tracer trace.Tracer
}

func newTracedHandler(h chatHandler) tracedHandler {
	return tracedHandler{chatHandler: h, tracer: otel.Tracer("github.com/resetbot/resetbot/cmd/resetbot")}
}

func (t tracedHandler) Handle(ctx context.Context, in chat.Incoming) error {
	attrs := []attribute.KeyValue{attribute.String("chat.platform", string(in.Actor.Platform))}
	if in.File != nil {
		attrs = append(attrs, attribute.Int("resetbot.file.bytes", len(in.File.Data)))
	}
	ctx, span := t.tracer.Start(ctx, "resetbot handle", trace.WithAttributes(attrs...))
	defer span.End()
	return endSpan(span, t.chatHandler.Handle(ctx, in))
}

func endSpan(span trace.Span, err error) error {
	if err != nil {
		span.SetStatus(codes.Error, "the service returned an error")
	}
	return err
}
