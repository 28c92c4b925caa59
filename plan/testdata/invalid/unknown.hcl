gcp {
  project = "p"
  region  = "europe-west1"
  backend "s3" {}
}

target_date = "next year"

wave "wave-1" {
  apps        = ["ledger", "biling-api"]
  concurrency = 0
}

app "ledger" {
  vm "ledger-app-9" {
    machine_type = "n2-standard-3"
  }
  vm "ledger-app-1" {
    machine_type = "z9-standard-4"
  }
  rollback  = "burn"
  skippable = ["Cutover"]
  colour    = "blue"
}

app "orphan" {
}
