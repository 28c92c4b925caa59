# One instance of a machine type chosen by the test: GCE (and gcpfake)
# refuse a shape GCP does not sell when the instance is created.
terraform {
  required_providers {
    google = { source = "hashicorp/google" }
  }
}

variable "compute_endpoint" { type = string }
variable "dns_endpoint" { type = string }
variable "project" { type = string }
variable "machine_type" {
  type    = string
  default = "e2-standard-2"
}

provider "google" {
  project                 = var.project
  region                  = "europe-west1"
  zone                    = "europe-west1-b"
  access_token            = "gcpfake-token"
  compute_custom_endpoint = var.compute_endpoint
  dns_custom_endpoint     = var.dns_endpoint
}

resource "google_compute_instance" "vm" {
  name         = "shape-1"
  machine_type = var.machine_type
  zone         = "europe-west1-b"
  boot_disk {
    initialize_params {
      image = "projects/debian-cloud/global/images/debian-12-bookworm-v20250610"
      size  = 10
    }
  }
  network_interface {
    network = "default"
  }
}
