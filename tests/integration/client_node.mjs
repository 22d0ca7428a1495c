// A @aws-sdk/client-s3 (AWS SDK for JavaScript v3) client run by t_clients.py: the spec (JSON)
// comes on stdin, bodies go to files in out_dir, the answer is JSON on stdout. It judges nothing.
import { S3Client, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, ListBucketsCommand }
  from "@aws-sdk/client-s3";
import { createWriteStream } from "node:fs";
import { pipeline } from "node:stream/promises";
import { join } from "node:path";

const chunks = [];
for await (const c of process.stdin) chunks.push(c);
const spec = JSON.parse(Buffer.concat(chunks).toString("utf8"));

const s3 = new S3Client({
  endpoint: spec.endpoint,
  region: "us-east-1",
  forcePathStyle: true,
  credentials: { accessKeyId: spec.key, secretAccessKey: spec.secret },
  maxAttempts: 2,
});

const out = { reads: [], heads: [], lists: [] };
let i = 0;
for (const rd of spec.reads ?? []) {
  try {
    const params = { Bucket: rd.bucket, Key: rd.key };
    if (rd.range) params.Range = rd.range;
    const r = await s3.send(new GetObjectCommand(params));
    const file = join(spec.out_dir, `node-read-${i++}.bin`);
    await pipeline(r.Body, createWriteStream(file));
    out.reads.push({
      file, status: r.$metadata.httpStatusCode, etag: r.ETag, length: r.ContentLength,
      content_type: r.ContentType, content_range: r.ContentRange ?? null, metadata: r.Metadata,
    });
  } catch (e) {
    out.reads.push({ error: e.name ?? String(e), message: String(e.message ?? e) });
  }
}
for (const hd of spec.heads ?? []) {
  try {
    const r = await s3.send(new HeadObjectCommand({ Bucket: hd.bucket, Key: hd.key }));
    out.heads.push({ etag: r.ETag, length: r.ContentLength, content_type: r.ContentType,
                     metadata: r.Metadata, cache_control: r.CacheControl,
                     content_disposition: r.ContentDisposition });
  } catch (e) {
    out.heads.push({ error: e.name ?? String(e) });
  }
}
for (const ls of spec.lists ?? []) {
  const keys = [], prefixes = [];
  let token;
  let pages = 0;
  do {
    const p = { Bucket: ls.bucket, ContinuationToken: token };
    if (ls.prefix) p.Prefix = ls.prefix;
    if (ls.delimiter) p.Delimiter = ls.delimiter;
    if (ls.page_size) p.MaxKeys = ls.page_size;
    const r = await s3.send(new ListObjectsV2Command(p));
    for (const o of r.Contents ?? []) keys.push(o.Key);
    for (const c of r.CommonPrefixes ?? []) prefixes.push(c.Prefix);
    token = r.IsTruncated ? r.NextContinuationToken : undefined;
    if (++pages > 5000) throw new Error("listing does not end");
  } while (token);
  out.lists.push({ keys, prefixes });
}
const b = await s3.send(new ListBucketsCommand({}));
out.buckets = (b.Buckets ?? []).map((x) => x.Name);
process.stdout.write(JSON.stringify(out));
