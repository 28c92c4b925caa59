target_date = "2027-06-30"

gcp {
  project    = "acme-migration"
  region     = "europe-west1"
  zones      = ["europe-west1-b", "europe-west1-c"]
  network    = "default"
  labels     = { cost-center = "platform" }

  backend "gcs" {
    bucket = "acme-ferry-state"
    prefix = "ferry"
  }
}

# Migrate to Virtual Machines: the source (vCenter connector) of each
# datacenter, for apps with data = "replicate", and the caps every wave
# honours at once.
migrate_to_vm {
  test_network = "migration-test"

  datacenter "dc-paris" {
    source = "projects/acme-migration/locations/europe-west1/sources/vcenter-paris"
  }

  limits {
    per_project   = 200
    per_source    = 50
    per_host      = 4
    per_datastore = 8
  }
}

# People who approve or operate, with the SSH public keys they sign with
# (the worker verifies every approval and action against these keys).
person "ana@example.com" {
  keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIH76wPBTRivWw2HirR5TnqzWoyLRX676eCa6+4uiDjV1 ana@example.com"]
}

person "bo@example.com" {
  keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINHIJPg9yOAeb8l9z91T2L/ptKCzVQmjnTCNyJeLjwX9 bo@example.com"]
}

person "cy@example.com" {
  keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKoIwH4GJXsDKqJj7Qvk0pD0yXE33pUYZYI9aUEm6ga2 cy@example.com"]
}

# May retry, skip and roll back any app (besides each app's approvers).
operators = ["cy@example.com"]

# Approvals without a valid signature are refused (the default).
identity {
  allow_unverified = false
}

wave "wave-1" {
  apps        = ["ledger"]
  not_before  = "2027-01-11"
  concurrency = 2
}

wave "wave-2" {
  apps                  = ["billing-api", "reports"]
  concurrency           = 2
  hold_cutover_for_deps = true
}

app "billing-api" {
  # Fresh instances from images (the default). "replicate" copies every
  # disk with Migrate to Virtual Machines; "sync" gates the cutover on the
  # lag of the app's own replication.
  data = "none"

  zone         = "europe-west1-b"
  network_tags = ["web"]
  disk_type    = "pd-ssd"

  vm "Billing_DB.prod" {
    machine_type = "n2-highmem-4"
  }

  cutover {
    strategy     = "lb"
    public_url   = "http://billing.example.com/"
    dc_endpoints = ["10.20.0.11:8080", "10.20.0.12:8080"]

    step {
      percent = 10
      bake    = "15m"
    }
    step {
      percent = 50
      bake    = "30m"
    }
    step {
      percent = 100
    }

    health_check {
      protocol = "http"
      port     = 8080
      path     = "/healthz"
    }

    slo {
      requests        = 200
      max_error_ratio = 0.005
      max_p95         = "300ms"
    }

    window {
      days     = ["tue", "thu"]
      start    = "22:00"
      duration = "4h"
      timezone = "Europe/Paris"
    }
  }

  approvers {
    plan         = ["ana@example.com"]
    cutover      = { approvers = ["ana@example.com", "bo@example.com"], required = 2 }
    decommission = ["ana@example.com"]
  }
  operators = ["bo@example.com"]

  hook "smoke" {
    at      = "smoke_test"
    command = ["./hooks/smoke.sh", "--url", "http://billing.example.com/healthz"]
    timeout = "5m"
    env     = { SMOKE_LEVEL = "full" }
  }

  rollback      = "destroy"
  skippable     = ["SyncVerify"]
  gate_reminder = "2h"
  bake          = "2d"

  decommission {
    shutdown_timeout = "5m"
    retention        = "30d"
    final_action     = "archive"
    archive_folder   = "/dc-paris/vm/archive"
  }
}

app "ledger" {
  # The ledger's database is replicated by PostgreSQL itself; the cutover
  # waits until the replica is less than 30 s behind.
  data = "sync"
  sync {
    start_command    = ["./hooks/pg-replica.sh", "start"]
    lag_command      = ["./hooks/pg-lag.sh"]
    max_lag          = "30s"
    catch_up_command = ["./hooks/pg-replica.sh", "promote"]
    reverse_command  = ["./hooks/pg-replica.sh", "reverse"]
  }

  approvers {
    plan         = ["bo@example.com"]
    cutover      = ["bo@example.com", "ana@example.com"]
    decommission = ["bo@example.com"]
  }
}

app "reports" {
  approvers {
    plan         = ["cy@example.com"]
    cutover      = ["cy@example.com"]
    decommission = ["cy@example.com"]
  }

  cutover {
    strategy = "dns"
    steps    = [100]
    dns {
      managed_zone = "example-com"
      name         = "reports.example.com."
    }
  }
}
