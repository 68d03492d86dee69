//! Request metrics in Prometheus text format: requests and latency by route, plus the pool
//! and outbox figures `/metrics` adds when it is read.

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0];

#[derive(Default)]
struct RouteStats {
    count: u64,
    sum_seconds: f64,
    buckets: [u64; BUCKETS.len()],
}

/// Counters shared by all requests of this process.
#[derive(Default)]
pub struct Metrics {
    routes: Mutex<BTreeMap<(String, String, u16), RouteStats>>,
}

impl Metrics {
    fn record(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let mut routes = self.routes.lock().unwrap_or_else(|p| p.into_inner());
        let stats = routes.entry((method.to_string(), route.to_string(), status)).or_default();
        stats.count += 1;
        stats.sum_seconds += seconds;
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                stats.buckets[i] += 1;
            }
        }
    }

    /// The request series in Prometheus text format.
    pub fn render(&self) -> String {
        let routes = self.routes.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = String::from(
            "# HELP http_requests_total Requests by method, route and status.\n# TYPE http_requests_total counter\n",
        );
        for ((method, route, status), stats) in routes.iter() {
            out += &format!(
                "http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {}\n",
                stats.count
            );
        }
        out += "# HELP http_request_duration_seconds Request latency by method and route.\n# TYPE http_request_duration_seconds histogram\n";
        for ((method, route, status), stats) in routes.iter() {
            let labels = format!("method=\"{method}\",route=\"{route}\",status=\"{status}\"");
            for (i, bound) in BUCKETS.iter().enumerate() {
                out +=
                    &format!("http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {}\n", stats.buckets[i]);
            }
            out += &format!("http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}\n", stats.count);
            out += &format!("http_request_duration_seconds_sum{{{labels}}} {:.6}\n", stats.sum_seconds);
            out += &format!("http_request_duration_seconds_count{{{labels}}} {}\n", stats.count);
        }
        out
    }
}

/// Times each routed request under its route template (`/parties/{id}`, not each id).
pub async fn track(State(metrics): State<std::sync::Arc<Metrics>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().to_string();
    let route =
        request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string()).unwrap_or_else(|| "unmatched".into());
    let response = next.run(request).await;
    metrics.record(&method, &route, response.status().as_u16(), started.elapsed().as_secs_f64());
    response
}
