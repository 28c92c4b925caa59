gcp {
  project = "p"
  region  = "europe-west1"
}

wave "wave-1" {
  apps = ["billing-api", "ledger", "reports"]
}

app "billing-api" {
  cutover {
    load_balancer = "external-https"
    tls {
      cert_file       = "/etc/ferry/billing.pem"
      certificate_map = "billing-map"
    }
  }
}

app "ledger" {
  cutover {
    load_balancer = "external-https"
    tls {
      cert_file = "/etc/ferry/ledger.pem"
    }
  }
}

app "reports" {
  cutover {
    load_balancer = "https"
    tls {
      ssl_certificates = ["Reports_Cert"]
    }
  }
}
