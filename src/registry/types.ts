// The registry's records as they are stored in YAML: what a person reads in the folder.
import type { Signature } from '../model/signature.js';

export type Status = 'staging' | 'production' | 'archived';
export const STATUSES: readonly Status[] = ['staging', 'production', 'archived'];

export interface ArtifactInfo {
  /** The file name the user registered (for people; the bytes live under blobs/). */
  file: string;
  size: number;
  sha256: string;
}

export interface ColumnStats {
  name: string;
  min: number;
  max: number;
  mean: number;
  std: number;
}

export interface ReferenceDataInfo {
  /** Rows kept (a uniform sample when the file had more than the cap). */
  rows: number;
  /** Rows in the file given at registration. */
  source_rows: number;
  /** gzip CSV with a header row, content-addressed under blobs/. */
  sha256: string;
  size: number;
  file: string;
  columns: ColumnStats[];
}

export interface HistoryEntry {
  at: string;
  by: string;
  event: 'registered' | 'promoted' | 'rolled_back';
  status: Status;
  from?: Status;
  note?: string;
}

export interface SourceInfo {
  path: string;
  git_commit?: string;
  git_dirty?: boolean;
}

export interface VersionRecord {
  name: string;
  version: string;
  created_at: string;
  status: Status;
  artifact: ArtifactInfo;
  signature: Signature;
  metrics: Record<string, number>;
  tags: Record<string, string>;
  description: string;
  registered_by: string;
  source: SourceInfo;
  reference_data?: ReferenceDataInfo;
  history: HistoryEntry[];
}

export interface DeploymentRecord {
  at: string;
  by: string;
  model: string;
  version: string;
  image: string;
  color: string;
  namespace: string;
  context?: string;
  outcome: 'succeeded' | 'failed' | 'rolled_back';
  step?: string;
  message?: string;
}

export interface AuditEntry {
  at: string;
  by: string;
  action: 'register' | 'promote' | 'rollback' | 'deploy' | 'experiment';
  model: string;
  version: string;
  [key: string]: unknown;
}
