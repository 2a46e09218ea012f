// The MCP suite over stdio: `sluice mcp` as a real child process, relaying to the broker's /mcp
// with the CLI's credentials.
import { mcpSuite } from './mcp-suite.ts';

mcpSuite('stdio');
