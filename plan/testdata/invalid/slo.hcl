gcp {
  project = "p"
  region  = "europe-west1"
}

wave "wave-1" {
  apps = ["ledger", "billing-api"]
}

app "ledger" {
  cutover {
    dc_endpoints = ["10.0.0.1:80"]
    slo {
      every        = "500ms"
      window       = "100ms"
      min_requests = 0
      probe        = false
      prometheus {
        url               = "https://ferry:hunter2@prometheus.example.com"
        auth              = "bearer"
        bearer_token      = "s3cr3t-in-the-plan"
        error_ratio_query = "sum(rate(errors[5m])) / sum(rate(requests[5m]))"
        objective         = 99.9
        burn_rate {
          long   = "5m"
          short  = "1h"
          factor = 0
        }
      }
    }
  }
}

app "billing-api" {
  cutover {
    dc_endpoints = ["10.0.0.2:80"]
    slo {
      every = "10m"
      prometheus {
        url          = "prometheus.example.com"
        auth         = "basic"
        password_env = "not a name"
        good_query   = "sum(rate(ok[$window]))"
      }
    }
  }
}
