gcp {
  project = "p"
  region  = "europe-west1"
}

wave "wave-1" {
  apps = ["billing-api", "ledger", "reports"]
}

app "billing-api" {
  cutover {
    load_balancer     = "external-https"
    proxy_only_subnet = "proxy-only"
  }
}

app "ledger" {
  cutover {
    load_balancer = "internal-http"
    strategy      = "dns"
    dns {
      managed_zone = "corp"
      name         = "ledger.corp.example."
    }
  }
}

app "reports" {
  cutover {
    load_balancer = "internal-tcp"
    strategy      = "lb"
    steps         = [10, 100]
    port          = 70000
  }
}
