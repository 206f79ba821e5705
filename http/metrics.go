package http

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"healthcode"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

type metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	registry *prometheus.Registry
	// audits counts the node's self-audits by result (ok, tampered,
	// error); auditSeconds and auditLeaves describe the last one.
	audits       *prometheus.CounterVec
	auditSeconds prometheus.Gauge
	auditLeaves  prometheus.Gauge
}

func newMetrics(reg *prometheus.Registry, health, degraded Health) *metrics {
	m := &metrics{
		registry: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "healthcode_http_requests_total", Help: "HTTP requests by route and status.",
		}, []string{"route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "healthcode_http_request_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route"}),
	}
	m.audits = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "healthcode_audits_total", Help: "Self-audits of the store against the log, by result (ok, tampered, error).",
	}, []string{"result"})
	m.auditSeconds = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "healthcode_audit_last_seconds", Help: "How long the last self-audit took (every stored hash recomputed, every decision checked).",
	})
	m.auditLeaves = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "healthcode_audit_last_leaves", Help: "Leaves whose hashes the last self-audit recomputed.",
	})
	// The alert: 1 while the node has found its store disagreeing with its
	// log (it then signs no checkpoint and no code for those concerned).
	problem := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "healthcode_integrity_problem",
		Help: "1 while the node's store disagrees with its log (tampering, rollback or fork; see /healthz), else 0.",
	}, func() float64 {
		if health != nil && health(context.Background()) != nil {
			return 1
		}
		return 0
	})
	writes := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "healthcode_store_write_problem",
		Help: "1 while the node's disk refuses writes or is nearly full (writes answer 503 with Retry-After; reads go on; see /healthz), else 0.",
	}, func() float64 {
		if degraded != nil && degraded(context.Background()) != nil {
			return 1
		}
		return 0
	})
	reg.MustRegister(m.requests, m.latency, m.audits, m.auditSeconds, m.auditLeaves, problem, writes)
	return m
}

// ObserveAudit records a self-audit of the store against the log: how long
// it took, how many leaves it recomputed and what it found.
func (s *Server) ObserveAudit(d time.Duration, leaves int64, err error) {
	s.Handler() // the metrics exist once the handler does
	result := "ok"
	switch {
	case healthcode.ErrorCode(err) == healthcode.ETAMPERED:
		result = "tampered"
	case err != nil:
		result = "error"
	}
	s.metrics.audits.WithLabelValues(result).Inc()
	s.metrics.auditSeconds.Set(d.Seconds())
	s.metrics.auditLeaves.Set(float64(leaves))
}

func (m *metrics) observe(route string, status int, d time.Duration) {
	m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(route).Observe(d.Seconds())
}

func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request, _ *healthcode.Principal) error {
	promhttp.HandlerFor(s.metrics.registry, promhttp.HandlerOpts{}).ServeHTTP(w, r)
	return nil
}
