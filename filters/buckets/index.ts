// Leaf library: farm bucket ownership. Imports nothing of hakit outside this folder.
export { BUCKET_COUNT, MAX_POWER, BucketInputError, canonicalMembers, loadMembers, type BucketMember } from './members';
export { bucketQuotas } from './quotas';
export { bucketOwners, bucketsOf, bucketCounts, type BalanceMode, type BucketTable } from './ownership';
export { movedBuckets, minimumMoves, measureChurn, type ChurnFigures, type ChurnReport } from './churn';
