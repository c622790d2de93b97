/** Types of scripts/build-web.mjs (plain JavaScript: it runs before anything is compiled). */
export declare const WEB_SRC: string;
export declare const WEB_DIST: string;
export declare const WEB_STAMP: string;
export declare function webOptions(root: string): Record<string, unknown>;
export declare function webInputs(root: string): string[];
export declare function webStaleReason(root: string): string | undefined;
export declare function buildWeb(root: string): Promise<number>;
export declare function watchWeb(root: string): Promise<void>;
