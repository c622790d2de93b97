/** Types of scripts/build.mjs (plain JavaScript: it runs before anything is compiled). */
export declare const STAMP: string;
export declare function buildInputs(root: string): string[];
export declare function staleReason(root: string): string | undefined;
export declare function build(root: string, tsc?: string[]): number;
