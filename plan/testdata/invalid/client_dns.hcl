gcp {
  project = "p"
  region  = "europe-west1"
}

wave "wave-1" {
  apps = ["billing-api", "ledger"]
}

app "billing-api" {
  hook "infoblox" {
    at      = "client_dns"
    command = ["./dns.sh"]
  }
  hook "unused" {
    at      = "client_dns"
    command = ["./dns.sh"]
  }
  hook "smoke" {
    at      = "smoke_test"
    command = ["./smoke.sh"]
  }
  cutover {
    client_dns {
      zone = "corp-internal"
      name = "billing.corp.example"
    }
    client_dns {
      zone       = "Corp.Internal"
      name       = "api.corp.example."
      ttl_during = "500ms"
    }
    client_dns {
      name = "legacy..corp.example."
    }
    client_dns {
      zone          = "corp-internal"
      name          = "x-.corp.example."
      external_hook = "infoblox"
    }
    client_dns {
      name          = "old.billing.example."
      external_hook = "smoke"
    }
    client_dns {
      name          = "other.billing.example."
      external_hook = "infobox"
    }
    client_dns {
      zone = "corp-internal"
      name = "shared.corp.example."
    }
  }
}

app "ledger" {
  cutover {
    client_dns {
      zone       = "corp-internal"
      name       = "shared.corp.example."
      ttl_during = "2h"
    }
  }
}
