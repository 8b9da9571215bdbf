variable "region" {
  description = "AWS region"
  type        = string
  default     = "us-east-1"
}

variable "instance_type" {
  description = "One host runs the whole compose stack"
  type        = string
  default     = "m5.xlarge"
}

variable "allowed_admin_cidrs" {
  description = "CIDRs allowed to SSH (22). Never the whole internet."
  type        = list(string)
  validation {
    condition     = length(var.allowed_admin_cidrs) > 0 && !contains(var.allowed_admin_cidrs, "0.0.0.0/0")
    error_message = "allowed_admin_cidrs must list specific networks, not 0.0.0.0/0."
  }
}

variable "allowed_client_cidrs" {
  description = "CIDRs allowed to reach the gateway (50051 gRPC, 8080 gRPC-Web) and the dashboard (3000)"
  type        = list(string)
  validation {
    condition     = length(var.allowed_client_cidrs) > 0
    error_message = "allowed_client_cidrs must not be empty."
  }
}

variable "ssm_parameter_prefix" {
  description = "SSM Parameter Store path holding the secrets (e.g. /quantcore/redis_password)"
  type        = string
  default     = "/quantcore"
  validation {
    condition     = can(regex("^/[A-Za-z0-9_./-]+$", var.ssm_parameter_prefix))
    error_message = "ssm_parameter_prefix must be an absolute parameter path."
  }
}

variable "repo_url" {
  description = "Git repository the host clones and runs"
  type        = string
  default     = "https://github.com/quantcore/quantcore.git"
}

variable "repo_ref" {
  description = "Branch, tag or commit to deploy"
  type        = string
  default     = "main"
}

variable "key_name" {
  description = "Existing EC2 key pair for SSH (optional)"
  type        = string
  default     = null
}

variable "root_volume_gb" {
  description = "Root volume size; Kafka's log lives here"
  type        = number
  default     = 100
}
