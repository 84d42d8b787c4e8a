import * as z from 'zod/mini';
import './zod-messages.ts';

// Kubernetes and AWS names as the APIs define them. Everything that comes
// from an event and may later reach an API call, a log line or a Slack
// message is held to these shapes; none of them admits whitespace, quotes
// or shell metacharacters.

/** RFC 1123 DNS subdomain: node names, pod names, most object names. */
export const DNS_SUBDOMAIN =
  /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** RFC 1123 DNS label: namespaces. */
export const DNS_LABEL = /^(?=.{1,63}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** EC2 instance id. */
export const INSTANCE_ID = /^i-[0-9a-f]{8,17}$/;

/** EKS cluster and node group names (AWS: 1-100 chars, alnum first). */
export const EKS_NAME = /^[0-9A-Za-z][A-Za-z0-9\-_]{0,99}$/;

/**
 * An OCI image reference, loosely: registry/repo[:tag][@digest]. Loose on
 * purpose (the runtime is the judge of a reference), strict on characters.
 */
export const IMAGE_REFERENCE = /^[A-Za-z0-9][A-Za-z0-9._\-/:@+]{0,510}$/;

/**
 * An object's metadata.uid: the API server makes a UUID; anything of the
 * same characters is accepted (test clusters and fakes set their own).
 */
export const OBJECT_UID = /^[A-Za-z0-9][A-Za-z0-9-]{0,63}$/;

/** `aws:///us-east-1a/i-0abc…` as a Node's spec.providerID. */
export const AWS_PROVIDER_ID =
  /^aws:\/\/\/[a-z0-9-]{1,30}\/(i-[0-9a-f]{8,17})$/;

export const nodeName = z
  .string()
  .check(z.regex(DNS_SUBDOMAIN, 'node name must be an RFC 1123 DNS subdomain'));
export const namespaceName = z
  .string()
  .check(z.regex(DNS_LABEL, 'namespace must be an RFC 1123 DNS label'));
export const objectName = z
  .string()
  .check(
    z.regex(DNS_SUBDOMAIN, 'object name must be an RFC 1123 DNS subdomain')
  );
export const objectUid = z
  .string()
  .check(
    z.regex(OBJECT_UID, 'uid must be letters, digits and dashes (a UUID)')
  );
export const instanceId = z
  .string()
  .check(
    z.regex(INSTANCE_ID, 'instance id must look like i-0123456789abcdef0')
  );
export const clusterName = z
  .string()
  .check(z.regex(EKS_NAME, 'cluster name must be a valid EKS cluster name'));
export const imageReference = z
  .string()
  .check(
    z.regex(IMAGE_REFERENCE, 'image reference has characters no image uses')
  );
