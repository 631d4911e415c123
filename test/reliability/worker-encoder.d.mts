export function embedText(text: string, dims: number): Float32Array;
