public enum GRPCH2Placeholder {}
