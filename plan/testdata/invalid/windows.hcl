gcp {
  project = "p"
  region  = "europe-west1"
}

wave "wave-1" {
  apps = ["ledger", "billing-api", "reports"]
}

app "ledger" {
  approvers {
    cutover = []
  }
  cutover {
    steps = [10, 5, 90]
    window {
      days     = []
      start    = "22:00"
      duration = "4h"
    }
    window {
      days     = ["tue", "funday"]
      start    = "25:00"
      duration = "4h"
      timezone = "Europe/Paris"
    }
    window {
      start    = "22:00"
      duration = "0s"
      timezone = "Mars/Olympus"
    }
    dc_endpoints   = ["ledger.dc:80"]
    outside_window = "sideways"
  }
  hook "x" {
    at      = "whenever"
    command = []
    timeout = "soon"
  }
  decommission {
    final_action = "archive"
  }
}

app "reports" {
  cutover {
    strategy = "dns"
  }
}
