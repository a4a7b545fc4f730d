// Package blob keeps attachments (e-mail attachments, inline images) by the
// SHA-256 of their content, so the same file sent to a thousand tickets is
// stored once.
//
// Two implementations share one contract (see Store):
//
//   - the filesystem, under the data directory by default, laid out as
//     <dir>/sha256/ab/cd/<digest> with two levels of fan-out; a Put writes
//     to <dir>/tmp, fsyncs, renames into place and fsyncs the directory, so
//     a crash never leaves a partial file under a digest;
//   - S3-compatible object storage (AWS S3, MinIO, Ceph RGW, ...), the
//     scale-out option for several replicas, with keys
//     <prefix>/sha256/<digest>.
//
// Open picks one from a URL flag ("" for the data directory, file:///path,
// or s3://bucket/prefix?endpoint=host:port). Digests that reach the store
// from outside are checked with ValidDigest before any storage is touched.
package blob
