output "instance_id" {
  description = "EC2 instance running the stack"
  value       = aws_instance.quantcore.id
}

output "public_dns" {
  description = "Public DNS name of the host"
  value       = aws_instance.quantcore.public_dns
}

output "gateway_grpc_url" {
  description = "Bots connect here (native gRPC, h2c)"
  value       = "http://${aws_instance.quantcore.public_dns}:50051"
}

output "gateway_web_url" {
  description = "Browsers connect here (gRPC-Web / Connect)"
  value       = "http://${aws_instance.quantcore.public_dns}:8080"
}

output "web_url" {
  description = "Operator dashboard"
  value       = "http://${aws_instance.quantcore.public_dns}:3000"
}
