/**
 * The one naming rule for what the scaler names: node groups, member keys and stacks are DNS labels
 * (RFC 1123), because each becomes a Pulumi resource name and a Kubernetes label value.
 */
import { z } from "zod";

export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export const DNS_LABEL_RULE =
  "must be a DNS label: lower-case letters, digits and '-', starting and ending with a letter or digit";

export function isDnsLabel(value: unknown): value is string {
  return typeof value === "string" && value.length <= 63 && DNS_LABEL.test(value);
}

export const dnsLabel = z.string().max(63).regex(DNS_LABEL, DNS_LABEL_RULE);
