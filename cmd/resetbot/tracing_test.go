package main

import (
	"context"
	"errors"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/chat"
)

// fakeService makes one child span per call, as kiota does for each Graph request.
type fakeService struct{ fail bool }

func (f fakeService) Handle(ctx context.Context, _ chat.Incoming) error {
	_, span := otel.Tracer("kiota").Start(ctx, "getHttpResponseMessage")
	span.End()
	if f.fail {
		return errors.New("store down")
	}
	return nil
}

func (f fakeService) HandleBulk(ctx context.Context, in chat.Incoming, _ string, _ []bot.UserRow, _ []bot.RowProblem) error {
	return f.Handle(ctx, in)
}

func (fakeService) MaxListRows() int { return 5000 }

// Work the adapters run after their acknowledgement, detached from the request, is one trace: a
// span for the command, with the Graph calls made for it as its children; no command text in it.
func TestWorkIsOneTraceWithGraphCallsAsChildren(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	prev := otel.GetTracerProvider()
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)))
	defer otel.SetTracerProvider(prev)

	h := newTracedHandler(fakeService{})
	in := chat.Incoming{Actor: chat.Actor{Platform: chat.PlatformSlack}, Text: "resetpw adele@contoso.com"}
	if err := h.Handle(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	if err := newTracedHandler(fakeService{fail: true}).Handle(context.Background(), in); err == nil {
		t.Fatal("the error was lost")
	}
	spans := rec.Ended()
	if len(spans) != 4 {
		t.Fatalf("%d spans", len(spans))
	}
	graph, work := spans[0], spans[1]
	if work.Name() != "resetbot handle" || graph.Parent().SpanID() != work.SpanContext().SpanID() || graph.SpanContext().TraceID() != work.SpanContext().TraceID() {
		t.Errorf("the Graph span is not the work span's child: %s under %v", graph.Name(), graph.Parent())
	}
	for _, s := range spans {
		for _, a := range s.Attributes() {
			if a.Value.Emit() == in.Text {
				t.Errorf("span %s carries the command text", s.Name())
			}
		}
	}
	if spans[3].Status().Code != codes.Error {
		t.Errorf("a failed command's span: %v", spans[3].Status())
	}
}
