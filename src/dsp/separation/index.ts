export { separate, hpssBaseline, repetSimBaseline, separateChunk, fadeChunk, STEM_NAMES, type ChunkBuffers, type StemName, type SeparationOptions, type SeparationMethod, type Stems } from './separate.ts'
export { freshArrays, reusableWorkspace, type Workspace } from './workspace.ts'
export { chunkAt, chunkGeometry, chunkPlan, lastChunkReach, type ChunkGeometry, type ChunkSpan } from './chunks.ts'
export { MAX_CHANNELS } from './stereo.ts'
