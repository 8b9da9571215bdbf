data "aws_ami" "debian" {
  most_recent = true
  owners      = ["136693071363"] # Debian
  filter {
    name   = "name"
    values = ["debian-12-amd64-*"]
  }
}

data "aws_vpc" "default" {
  default = true
}

data "aws_caller_identity" "current" {}

resource "aws_security_group" "quantcore" {
  name_prefix = "quantcore-"
  description = "QuantCore host: SSH from admins, gateway and dashboard from clients; Kafka and Redis are not exposed"
  vpc_id      = data.aws_vpc.default.id

  ingress {
    description = "SSH"
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = var.allowed_admin_cidrs
  }

  ingress {
    description = "gateway native gRPC (bots)"
    from_port   = 50051
    to_port     = 50051
    protocol    = "tcp"
    cidr_blocks = var.allowed_client_cidrs
  }

  ingress {
    description = "gateway gRPC-Web / Connect (browsers)"
    from_port   = 8080
    to_port     = 8080
    protocol    = "tcp"
    cidr_blocks = var.allowed_client_cidrs
  }

  ingress {
    description = "Prometheus (compose observability profile), operators only"
    from_port   = 9090
    to_port     = 9090
    protocol    = "tcp"
    cidr_blocks = var.allowed_admin_cidrs
  }

  ingress {
    description = "Grafana (compose observability profile), operators only"
    from_port   = 3001
    to_port     = 3001
    protocol    = "tcp"
    cidr_blocks = var.allowed_admin_cidrs
  }

  ingress {
    description = "dashboard"
    from_port   = 3000
    to_port     = 3000
    protocol    = "tcp"
    cidr_blocks = var.allowed_client_cidrs
  }

  egress {
    description = "Binance, package registries, SSM"
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

# Least privilege: the host may only read the parameters under the QuantCore prefix.
data "aws_iam_policy_document" "read_secrets" {
  statement {
    actions   = ["ssm:GetParameter", "ssm:GetParameters"]
    resources = ["arn:aws:ssm:${var.region}:${data.aws_caller_identity.current.account_id}:parameter${var.ssm_parameter_prefix}/*"]
  }
}

resource "aws_iam_role" "host" {
  name_prefix        = "quantcore-host-"
  assume_role_policy = data.aws_iam_policy_document.assume.json
}

resource "aws_iam_role_policy" "read_secrets" {
  name_prefix = "quantcore-ssm-"
  role        = aws_iam_role.host.id
  policy      = data.aws_iam_policy_document.read_secrets.json
}

resource "aws_iam_instance_profile" "host" {
  name_prefix = "quantcore-host-"
  role        = aws_iam_role.host.name
}

resource "aws_instance" "quantcore" {
  ami                    = data.aws_ami.debian.id
  instance_type          = var.instance_type
  key_name               = var.key_name
  iam_instance_profile   = aws_iam_instance_profile.host.name
  vpc_security_group_ids = [aws_security_group.quantcore.id]

  # No secret in user_data: the script reads them from SSM at boot with the instance role.
  user_data = templatefile("${path.module}/user_data.sh.tftpl", {
    region               = var.region
    ssm_parameter_prefix = var.ssm_parameter_prefix
    repo_url             = var.repo_url
    repo_ref             = var.repo_ref
  })

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required" # IMDSv2 only
    http_put_response_hop_limit = 1
  }

  root_block_device {
    volume_type = "gp3"
    volume_size = var.root_volume_gb
    encrypted   = true
  }

  tags = {
    Name = "quantcore"
  }
}
