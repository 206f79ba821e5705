package oversight

import (
	"context"

	"healthcode"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the oversight figures Prometheus scrapes: alerts open by
// detector (from the store, so a restart loses nothing), alerts raised and
// webhook deliveries since start.
type Metrics struct {
	store      healthcode.Store
	open       *prometheus.Desc
	Raised     *prometheus.CounterVec
	Deliveries *prometheus.CounterVec
}

// NewMetrics registers the oversight metrics with reg.
func NewMetrics(reg prometheus.Registerer, store healthcode.Store) *Metrics {
	m := &Metrics{
		store: store,
		open:  prometheus.NewDesc("healthcode_oversight_alerts_open", "Oversight alerts no review has closed, by detector.", []string{"detector"}, nil),
		Raised: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "healthcode_oversight_alerts_total",
			Help: "Oversight alerts raised since the node started, by detector."}, []string{"detector"}),
		Deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "healthcode_oversight_webhook_deliveries_total",
			Help: "Attempts to deliver an alert to the oversight webhook, by outcome (delivered, failed)."}, []string{"outcome"}),
	}
	reg.MustRegister(m, m.Raised, m.Deliveries)
	return m
}

// Alert counts a raised alert.
func (m *Metrics) Alert(a healthcode.Alert) { m.Raised.WithLabelValues(a.Detector).Inc() }

// Delivery counts a webhook attempt.
func (m *Metrics) Delivery(d healthcode.DeliveryRecord) {
	outcome := "delivered"
	if d.Error != "" {
		outcome = "failed"
	}
	m.Deliveries.WithLabelValues(outcome).Inc()
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) { ch <- m.open }

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	var counts map[string]int64
	err := m.store.View(context.Background(), func(tx healthcode.ReadTx) error {
		var err error
		counts, err = tx.OpenAlertCounts(context.Background())
		return err
	})
	if err != nil {
		return
	}
	for _, d := range healthcode.Detectors {
		ch <- prometheus.MustNewConstMetric(m.open, prometheus.GaugeValue, float64(counts[d]), d)
	}
}
