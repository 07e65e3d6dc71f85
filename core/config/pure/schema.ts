// The shape of a schema table: one entry per element, with its attributes and children.
// Both the validator (validate-tree.ts) and the generated reference docs read these tables.
import type { AttrType } from './attr-types';

export interface AttrSpec {
  readonly name: string;
  readonly type: AttrType;
  /** Required when there is no default and `required` is set. */
  readonly required?: boolean;
  /** Raw text, parsed with the attribute's type: the docs show it as written. */
  readonly default?: string;
  readonly doc: string;
}

export interface ChildSpec {
  /** Key of the child's ElementSpec in the same table. */
  readonly spec: string;
  readonly min: number;
  readonly max: number;
}

export interface ElementSpec {
  /** The XML element name (several specs may share one, e.g. `to` under each checker). */
  readonly name: string;
  readonly doc: string;
  readonly attrs: readonly AttrSpec[];
  readonly children: readonly ChildSpec[];
  /** Modes of `<service>` in which this element may appear (undefined: all). */
  readonly modes?: readonly string[];
}

export interface Schema {
  readonly file: string;
  readonly root: string;
  readonly elements: Readonly<Record<string, ElementSpec>>;
}

export const UNBOUNDED = Number.MAX_SAFE_INTEGER;
