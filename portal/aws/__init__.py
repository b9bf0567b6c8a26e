"""The only package that imports boto3: API Gateway and CloudWatch in Tollgate's own terms."""
